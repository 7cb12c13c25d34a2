package cabinet

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// Replay folds situations from their events in memory, with the cabinet's
// own fold and rows but no file: what an auditor rebuilds from the log to
// see a person's drafts, grants and situations exactly as they stood at a
// moment (the events recorded up to it). Not safe for concurrent use.
type Replay struct {
	sits  map[uuid.UUID]*folded
	order []*folded
}

// NewReplay returns an empty replay.
func NewReplay() *Replay { return &Replay{sits: map[uuid.UUID]*folded{}} }

// Apply folds one event of a situation stream. The events of a situation
// must come in their stream's order; events of other streams are ignored.
func (r *Replay) Apply(e eventstore.RecordedEvent) error {
	if !isSituation(e.Stream) {
		return nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(e.Stream, situation.StreamPrefix))
	if err != nil {
		return fmt.Errorf("stream %s is not named by a situation id: %w", e.Stream, err)
	}
	f, ok := r.sits[id]
	if !ok {
		f = newFolded(id)
		r.sits[id] = f
		r.order = append(r.order, f)
	}
	ev, err := trim(e.Type, e.Data)
	if err != nil {
		return err
	}
	if err := f.apply(ev); err != nil {
		return fmt.Errorf("fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
	}
	return nil
}

// View is what person saw at the time at in the situations folded: the
// situations they are a viewer of (newest first) with the steps they may
// see, the drafts they are applicant or beneficiary of and the grants they
// or their children under 18 at at (children lists them with their birth
// dates) are applicant or beneficiary of, oldest first: the lists of
// Situations, Drafts and Grants.
func (r *Replay) View(person string, children []Child, at time.Time) ([]Situation, []Draft, []Grant) {
	minors := map[string]bool{}
	for _, ch := range children {
		if ch.ID != person && minorOn(ch.BirthDate, at) {
			minors[ch.ID] = true
		}
	}
	type keyed[T any] struct {
		key []byte
		v   T
	}
	var sits []keyed[Situation]
	var drafts []keyed[Draft]
	var grants []keyed[Grant]
	seenGrant := map[uuid.UUID]bool{}
	for _, f := range r.order {
		if !f.state.IsOpen() {
			continue
		}
		row, ds, gs := f.rows()
		if slices.Contains(row.Viewers, person) {
			sits = append(sits, keyed[Situation]{timeIDKey(nil, row.OpenedAt, f.id), row.view(person, minors)})
		}
		for _, d := range ds {
			if d.Applicant == person || d.Beneficiary == person {
				drafts = append(drafts, keyed[Draft]{timeIDKey(nil, d.CreatedAt, d.ID), d})
			}
		}
		for _, g := range gs {
			if seenGrant[g.ID] {
				continue
			}
			if g.Applicant == person || g.Beneficiary == person || minors[g.Applicant] || minors[g.Beneficiary] {
				seenGrant[g.ID] = true
				grants = append(grants, keyed[Grant]{timeIDKey(nil, g.GrantedAt, g.ID), g})
			}
		}
	}
	slices.SortFunc(sits, func(a, b keyed[Situation]) int { return bytes.Compare(b.key, a.key) })
	slices.SortFunc(drafts, func(a, b keyed[Draft]) int { return bytes.Compare(a.key, b.key) })
	slices.SortFunc(grants, func(a, b keyed[Grant]) int { return bytes.Compare(a.key, b.key) })
	outS, outD, outG := []Situation{}, []Draft{}, []Grant{}
	for _, s := range sits {
		outS = append(outS, s.v)
	}
	for _, d := range drafts {
		outD = append(outD, d.v)
	}
	for _, g := range grants {
		outG = append(outG, g.v)
	}
	return outS, outD, outG
}

// OpenScratch opens (creating if needed) a cabinet file for a rebuild that
// is switched in only once complete: its transactions are not synced to
// disk one by one; Sync flushes the whole file at the end.
func OpenScratch(path string) (*Cabinet, error) {
	c, err := Open(path)
	if err != nil {
		return nil, err
	}
	c.model.Scratch()
	return c, nil
}

// Sync flushes a scratch cabinet to disk.
func (c *Cabinet) Sync() error { return c.model.Sync() }
