// Package history answers an auditor's questions from the log itself: every
// event concerning a person, the drafts, grants and situations as they
// stood at any moment (folded again from the situation streams with the
// cabinet's own fold), and the explanation of a decision with the events
// that caused it.
//
// Its Index tells which streams concern a person and which situation a
// step or grant belongs to, so that a question reads a handful of streams,
// never the whole log. The index is kept in memory and caught up from the
// log before each question (a process builds it with one scan of the log,
// then folds only what was appended since).
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

// Index maps persons to the streams that concern them, and steps and
// grants to their situations. Safe for concurrent use.
type Index struct {
	mu       sync.RWMutex
	catching sync.Mutex // one catch-up at a time
	position eventstore.Position
	// foreign: person -> the other persons' streams holding a registry
	// event that names them (a birth in the mother's stream names the
	// child, a death names its informant). Their own stream is implied.
	foreign map[uuid.UUID][]string
	// situations: person -> the situations they are the person, a
	// participant, an applicant or a beneficiary of, in log order.
	situations map[uuid.UUID][]uuid.UUID
	// steps: step (and draft) id -> its situation.
	steps map[uuid.UUID]uuid.UUID
	// grants: grant id -> its step.
	grants map[uuid.UUID]uuid.UUID
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		foreign:    map[uuid.UUID][]string{},
		situations: map[uuid.UUID][]uuid.UUID{},
		steps:      map[uuid.UUID]uuid.UUID{},
		grants:     map[uuid.UUID]uuid.UUID{},
	}
}

// Filter selects the events the index folds.
func Filter() eventstore.Filter {
	types := []string{situation.TypeOpened, situation.TypeStepDecided, situation.TypeApplicationDecided}
	for _, t := range lifeevent.Types() {
		types = append(types, string(t))
	}
	return eventstore.Filter{StreamPrefixes: []string{lifeevent.StreamPrefix, situation.StreamPrefix}, TypePrefixes: types}
}

// Position is the log position the index has folded up to.
func (x *Index) Position() eventstore.Position {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.position
}

// CatchUp folds the log from the index's position up to upTo (at least).
func (x *Index) CatchUp(ctx context.Context, store eventstore.Store, upTo eventstore.Position) error {
	x.catching.Lock()
	defer x.catching.Unlock()
	const page = 4096
	filter := Filter()
	after := x.Position()
	for after < upTo {
		events, err := store.ReadAll(ctx, after, filter, page)
		if err != nil {
			return fmt.Errorf("history index: read after %d: %w", after, err)
		}
		x.mu.Lock()
		for _, e := range events {
			if err := x.apply(e); err != nil {
				x.mu.Unlock()
				return err
			}
		}
		if len(events) > 0 {
			after = events[len(events)-1].Position
		}
		if len(events) < page {
			// Read to the end of the log as it stood: the index is there,
			// even past the last event it folds.
			after = max(after, upTo)
		}
		x.position = max(x.position, after)
		x.mu.Unlock()
		if len(events) < page {
			return nil
		}
	}
	return nil
}

// Apply folds one event (in log order); events the filter leaves out
// change nothing.
func (x *Index) Apply(e eventstore.RecordedEvent) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.apply(e); err != nil {
		return err
	}
	x.position = max(x.position, e.Position)
	return nil
}

func (x *Index) apply(e eventstore.RecordedEvent) error {
	switch {
	case strings.HasPrefix(e.Stream, lifeevent.StreamPrefix):
		t := lifeevent.Type(e.Type)
		if !t.Known() {
			return nil
		}
		p, err := lifeevent.Decode(t, e.Data)
		if err != nil {
			return fmt.Errorf("history index: %s at %d: %w", e.Type, e.Position, err)
		}
		for _, person := range p.Concerns() {
			if lifeevent.PersonStream(person) != e.Stream && !slices.Contains(x.foreign[person], e.Stream) {
				x.foreign[person] = append(x.foreign[person], e.Stream)
			}
		}
	case strings.HasPrefix(e.Stream, situation.StreamPrefix):
		return x.applySituation(e)
	}
	return nil
}

func (x *Index) applySituation(e eventstore.RecordedEvent) error {
	switch e.Type {
	case situation.TypeOpened:
		var o struct {
			SituationID  uuid.UUID `json:"situation_id"`
			PersonID     string    `json:"person_id"`
			Participants []string  `json:"participants"`
		}
		if err := json.Unmarshal(e.Data, &o); err != nil {
			return fmt.Errorf("history index: %s at %d: %w", e.Type, e.Position, err)
		}
		x.link(o.SituationID, append([]string{o.PersonID}, o.Participants...)...)
	case situation.TypeStepDecided:
		var d struct {
			SituationID uuid.UUID `json:"situation_id"`
			StepID      uuid.UUID `json:"step_id"`
			GrantID     uuid.UUID `json:"grant_id"`
			Decision    struct {
				Applicant   string `json:"applicant"`
				Beneficiary string `json:"beneficiary"`
			} `json:"decision"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return fmt.Errorf("history index: %s at %d: %w", e.Type, e.Position, err)
		}
		x.steps[d.StepID] = d.SituationID
		if d.GrantID != uuid.Nil {
			x.grants[d.GrantID] = d.StepID
		}
		x.link(d.SituationID, d.Decision.Applicant, d.Decision.Beneficiary)
	case situation.TypeApplicationDecided:
		var d struct {
			DraftID uuid.UUID `json:"draft_id"`
			GrantID uuid.UUID `json:"grant_id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return fmt.Errorf("history index: %s at %d: %w", e.Type, e.Position, err)
		}
		if d.GrantID != uuid.Nil {
			x.grants[d.GrantID] = d.DraftID
		}
	}
	return nil
}

// link records that the persons take part in the situation.
func (x *Index) link(sit uuid.UUID, persons ...string) {
	for _, p := range persons {
		id, err := uuid.Parse(p)
		if err != nil {
			continue
		}
		if l := x.situations[id]; !slices.Contains(l, sit) {
			x.situations[id] = append(l, sit)
		}
	}
}

// Streams lists the streams concerning person: their own, the other
// persons' streams naming them, and the situations they take part in.
func (x *Index) Streams(person uuid.UUID) (own string, foreign []string, situations []uuid.UUID) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return lifeevent.PersonStream(person), slices.Clone(x.foreign[person]), slices.Clone(x.situations[person])
}

// Situations lists the situations person takes part in.
func (x *Index) Situations(person uuid.UUID) []uuid.UUID {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.situations[person])
}

// Locate finds the situation and step of a step, draft or grant id; isGrant
// tells that id is a grant's.
func (x *Index) Locate(id uuid.UUID) (sit, step uuid.UUID, isGrant, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if s, found := x.steps[id]; found {
		return s, id, false, true
	}
	if st, found := x.grants[id]; found {
		if s, found := x.steps[st]; found {
			return s, st, true, true
		}
	}
	return uuid.Nil, uuid.Nil, false, false
}
