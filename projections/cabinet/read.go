package cabinet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"lifesituations/projections/derived"
)

// Drafts lists the drafts person is applicant or beneficiary of, oldest
// first (by created_at, then id).
func (c *Cabinet) Drafts(person string) ([]Draft, error) {
	out := []Draft{}
	err := c.read(func(view *derived.View) error {
		r := newReader(view)
		return view.Scan(bucketPeople, personPrefix(person, kindDraft), false, func(k, v []byte) error {
			d, err := r.draft(situationOf(v), idOf(k))
			out = append(out, d)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("drafts of %s: %w", person, err)
	}
	return out, nil
}

// Grants lists the grants person is applicant or beneficiary of, and those
// of their children under 18, oldest first (by granted_at, then id).
func (c *Cabinet) Grants(person string) ([]Grant, error) {
	owners := []string{person}
	for id := range c.minors(person) {
		owners = append(owners, id)
	}
	out := []Grant{}
	err := c.read(func(view *derived.View) error {
		// An index key past its owner's prefix is granted_at then id: one
		// grant has the same suffix under every owner.
		type entry struct{ suffix, situation []byte }
		seen := map[string]bool{}
		var found []entry
		for _, owner := range owners {
			prefix := personPrefix(owner, kindGrant)
			err := view.Scan(bucketPeople, prefix, false, func(k, v []byte) error {
				if s := k[len(prefix):]; !seen[string(s)] {
					seen[string(s)] = true
					found = append(found, entry{bytes.Clone(s), bytes.Clone(v)})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		slices.SortFunc(found, func(a, b entry) int { return bytes.Compare(a.suffix, b.suffix) })
		r := newReader(view)
		for _, e := range found {
			g, err := r.grant(situationOf(e.situation), idOf(e.suffix))
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("grants of %s: %w", person, err)
	}
	return out, nil
}

// Situations lists the situations person is the person, a participant, an
// applicant or a beneficiary of, newest first (by opened_at, then id, both
// descending), each with the steps person may see.
func (c *Cabinet) Situations(person string) ([]Situation, error) {
	minors := c.minors(person)
	out := []Situation{}
	err := c.read(func(view *derived.View) error {
		r := newReader(view)
		return view.Scan(bucketPeople, personPrefix(person, kindSituation), true, func(k, _ []byte) error {
			row, err := r.row(idOf(k))
			if err != nil {
				return err
			}
			out = append(out, row.view(person, minors))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("situations of %s: %w", person, err)
	}
	return out, nil
}

// Notifications lists the notifications addressed to person, newest first
// (by at, then log position, both descending).
func (c *Cabinet) Notifications(person string) ([]Notification, error) {
	out := []Notification{}
	err := c.read(func(view *derived.View) error {
		return view.Scan(bucketPeople, personPrefix(person, kindNotification), true, func(_, v []byte) error {
			var n Notification
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("decode notification: %w", err)
			}
			out = append(out, n)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", person, err)
	}
	return out, nil
}

// Draft returns a draft of a situation whoever may see it; ErrNotFound
// when there is none.
func (c *Cabinet) Draft(situation, id uuid.UUID) (Draft, error) {
	var d Draft
	err := c.read(func(view *derived.View) (err error) {
		d, err = newReader(view).draft(situation, id)
		return err
	})
	if err != nil {
		return Draft{}, fmt.Errorf("draft %s: %w", id, err)
	}
	return d, nil
}

// Grant returns a grant of a situation whoever may see it; ErrNotFound
// when there is none.
func (c *Cabinet) Grant(situation, id uuid.UUID) (Grant, error) {
	var g Grant
	err := c.read(func(view *derived.View) (err error) {
		g, err = newReader(view).grant(situation, id)
		return err
	})
	if err != nil {
		return Grant{}, fmt.Errorf("grant %s: %w", id, err)
	}
	return g, nil
}

// Situation returns a situation with all its steps; ErrNotFound when there
// is none.
func (c *Cabinet) Situation(id uuid.UUID) (Situation, error) {
	row, err := c.situationRow(id)
	return row.Situation, err
}

// DraftFor returns a draft person is applicant or beneficiary of;
// ErrNotFound for any other.
func (c *Cabinet) DraftFor(person string, id uuid.UUID) (Draft, error) {
	var d Draft
	err := c.read(func(view *derived.View) (err error) {
		r := newReader(view)
		sit, ok := r.find(person, kindDraft, id)
		if !ok {
			return ErrNotFound
		}
		d, err = r.draft(sit, id)
		return err
	})
	if err != nil {
		return Draft{}, fmt.Errorf("draft %s: %w", id, err)
	}
	return d, nil
}

// GrantFor returns a grant person is applicant or beneficiary of, or one of
// their children under 18 is; ErrNotFound for any other.
func (c *Cabinet) GrantFor(person string, id uuid.UUID) (Grant, error) {
	owners := []string{person}
	for child := range c.minors(person) {
		owners = append(owners, child)
	}
	var g Grant
	err := c.read(func(view *derived.View) error {
		r := newReader(view)
		for _, owner := range owners {
			sit, ok := r.find(owner, kindGrant, id)
			if ok {
				var err error
				g, err = r.grant(sit, id)
				return err
			}
		}
		return ErrNotFound
	})
	if err != nil {
		return Grant{}, fmt.Errorf("grant %s: %w", id, err)
	}
	return g, nil
}

// SituationFor returns a situation as person sees it (see Situations);
// ErrNotFound when they do not see it.
func (c *Cabinet) SituationFor(person string, id uuid.UUID) (Situation, error) {
	row, err := c.situationRow(id)
	if err != nil {
		return Situation{}, err
	}
	if !slices.Contains(row.Viewers, person) {
		return Situation{}, fmt.Errorf("situation %s: %w", id, ErrNotFound)
	}
	return row.view(person, c.minors(person)), nil
}

func (c *Cabinet) situationRow(id uuid.UUID) (situationRow, error) {
	var row situationRow
	err := c.read(func(view *derived.View) (err error) {
		row, err = newReader(view).row(id)
		return err
	})
	if err != nil {
		return situationRow{}, fmt.Errorf("situation %s: %w", id, err)
	}
	return row, nil
}

// reader renders what a read asks for from the situations' kept logs,
// folding each situation once per read.
type reader struct {
	view *derived.View
	sits map[uuid.UUID]*folded
}

func newReader(view *derived.View) *reader { return &reader{view: view, sits: map[uuid.UUID]*folded{}} }

// situation folds a situation from its log; ErrNotFound when it has none.
func (r *reader) situation(id uuid.UUID) (*folded, error) {
	if f, ok := r.sits[id]; ok {
		return f, nil
	}
	log := r.view.Get(bucketLogs, id[:])
	if log == nil {
		return nil, ErrNotFound
	}
	f, err := foldLog(id, log)
	if err != nil {
		return nil, err
	}
	r.sits[id] = f
	return f, nil
}

func (r *reader) row(id uuid.UUID) (situationRow, error) {
	f, err := r.situation(id)
	if err != nil {
		return situationRow{}, err
	}
	row, _, _ := f.rows()
	return row, nil
}

func (r *reader) draft(situation, id uuid.UUID) (Draft, error) {
	f, err := r.situation(situation)
	if err != nil {
		return Draft{}, err
	}
	st, ok := f.state.Step(id)
	if !ok || st.Draft == nil {
		return Draft{}, ErrNotFound
	}
	return f.draft(st), nil
}

func (r *reader) grant(situation, id uuid.UUID) (Grant, error) {
	f, err := r.situation(situation)
	if err != nil {
		return Grant{}, err
	}
	st, ok := f.state.StepByGrant(id)
	if !ok || st.Grant == nil {
		return Grant{}, ErrNotFound
	}
	return f.grant(st), nil
}

// find looks for id among person's entries of a kind (a few: a person's
// drafts or grants), and returns the situation it is of.
func (r *reader) find(person string, kind byte, id uuid.UUID) (uuid.UUID, bool) {
	var sit uuid.UUID
	found := false
	_ = r.view.Scan(bucketPeople, personPrefix(person, kind), false, func(k, v []byte) error {
		if idOf(k) == id {
			sit, found = situationOf(v), true
		}
		return nil
	})
	return sit, found
}

// situationOf is the situation id a draft's or grant's entry holds.
func situationOf(v []byte) uuid.UUID {
	var id uuid.UUID
	copy(id[:], v)
	return id
}
