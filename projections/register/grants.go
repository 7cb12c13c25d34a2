package register

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// step is what the register keeps of a drafted step until the agency
// decides it (application.decided names only the draft, whose id is the
// step's), and of a standing grant until it is withdrawn.
type step struct {
	Service     string    `json:"service"`
	Applicant   string    `json:"applicant"`
	Beneficiary string    `json:"beneficiary"`
	Situation   uuid.UUID `json:"situation,omitzero"`
}

// stepDecided is the part of situation.StepDecided the register reads.
type stepDecided struct {
	SituationID uuid.UUID `json:"situation_id"`
	StepID      uuid.UUID `json:"step_id"`
	GrantID     uuid.UUID `json:"grant_id"`
	Decision    struct {
		Service     string            `json:"service"`
		Outcome     catalogue.Outcome `json:"outcome"`
		OptOut      bool              `json:"opt_out"`
		Applicant   string            `json:"applicant"`
		Beneficiary string            `json:"beneficiary"`
	} `json:"decision"`
}

// draftClosed is the part of the events ending a draft the register reads.
type draftClosed struct {
	DraftID uuid.UUID         `json:"draft_id"`
	Outcome catalogue.Outcome `json:"outcome"`
}

// grantWithdrawn is the part of situation.GrantWithdrawn the register reads.
type grantWithdrawn struct {
	GrantID uuid.UUID `json:"grant_id"`
}

// applySituation folds a situation event that grants a service or may later
// lead to a grant, or withdraws a grant; other situation events change no
// fact.
func (b *batch) applySituation(eventType string, data []byte) error {
	switch eventType {
	case situation.TypeStepDecided:
		var e stepDecided
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		return b.stepDecided(&e)
	case situation.TypeApplicationDecided, situation.TypeDraftExpired,
		situation.TypeDraftDeclined, situation.TypeDraftWithdrawn:
		var e draftClosed
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		return b.draftClosed(eventType, e)
	case situation.TypeGrantWithdrawn:
		var e grantWithdrawn
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		return b.grantWithdrawn(e.GrantID)
	}
	return nil
}

// granted records the service for its applicant and its beneficiary.
func (b *batch) granted(s step) error {
	for _, id := range []string{s.Applicant, s.Beneficiary} {
		if id == "" {
			continue
		}
		f, err := b.edit(id)
		if err != nil {
			return err
		}
		if f != nil {
			f.grant(s.Service)
		}
	}
	return nil
}

func (b *batch) keepStep(id uuid.UUID, s step) error {
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode step %s: %w", id, err)
	}
	if err := b.steps.Put(id[:], v); err != nil {
		return fmt.Errorf("write step %s: %w", id, err)
	}
	if s.Applicant != "" && s.Situation != uuid.Nil {
		if err := b.drafts.Put(draftKey(s.Applicant, id), s.Situation[:]); err != nil {
			return fmt.Errorf("index draft %s: %w", id, err)
		}
	}
	return nil
}

// draftClosed grants a draft the agency granted, and forgets a draft that
// can no longer lead to a grant, which keeps the step bucket to the drafts
// still open.
func (b *batch) draftClosed(eventType string, e draftClosed) error {
	v := b.steps.Get(e.DraftID[:])
	if v == nil {
		return nil
	}
	var s step
	if err := json.Unmarshal(v, &s); err != nil {
		return fmt.Errorf("decode step %s: %w", e.DraftID, err)
	}
	if eventType == situation.TypeApplicationDecided && e.Outcome == catalogue.OutcomeGranted {
		if err := b.granted(s); err != nil {
			return err
		}
	}
	if err := b.drafts.Delete(draftKey(s.Applicant, e.DraftID)); err != nil {
		return fmt.Errorf("unindex draft %s: %w", e.DraftID, err)
	}
	if err := b.steps.Delete(e.DraftID[:]); err != nil {
		return fmt.Errorf("forget step %s: %w", e.DraftID, err)
	}
	return nil
}

// standing records a grant of a service that allows opting out: the person
// holds it until it is withdrawn.
func (b *batch) standing(grant uuid.UUID, s step) error {
	v, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode grant %s: %w", grant, err)
	}
	if err := b.standings.Put(grant[:], v); err != nil {
		return fmt.Errorf("write grant %s: %w", grant, err)
	}
	for _, id := range holders(s) {
		if err := b.held.Put(heldKey(id, s.Service, grant), s.Situation[:]); err != nil {
			return fmt.Errorf("index grant %s: %w", grant, err)
		}
	}
	return nil
}

// grantWithdrawn forgets a withdrawn standing grant: a person who holds no
// other grant of the service no longer counts it as granted (an opted-out
// or replaced kindergarten place is no place).
func (b *batch) grantWithdrawn(grant uuid.UUID) error {
	v := b.standings.Get(grant[:])
	if v == nil {
		return nil
	}
	var s step
	if err := json.Unmarshal(v, &s); err != nil {
		return fmt.Errorf("decode grant %s: %w", grant, err)
	}
	for _, id := range holders(s) {
		if err := b.held.Delete(heldKey(id, s.Service, grant)); err != nil {
			return fmt.Errorf("unindex grant %s: %w", grant, err)
		}
		if holdsAny(b.held, heldPrefix(id, s.Service)) {
			continue // another grant of the service is still held
		}
		f, err := b.edit(id)
		if err != nil {
			return err
		}
		if f != nil {
			f.Granted = slices.DeleteFunc(f.Granted, func(g string) bool { return g == s.Service })
		}
	}
	if err := b.standings.Delete(grant[:]); err != nil {
		return fmt.Errorf("forget grant %s: %w", grant, err)
	}
	return nil
}

// holders are a grant's applicant and beneficiary, once each.
func holders(s step) []string {
	var out []string
	for _, id := range []string{s.Applicant, s.Beneficiary} {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// holdsAny reports whether the index of standing grants has a key with
// prefix (a person's and a service's).
func holdsAny(held kv, prefix []byte) bool {
	switch h := held.(type) {
	case *memKV:
		return h.groups[string(prefix)] > 0
	case viewKV:
		found := false
		_ = h.v.Scan(h.name, prefix, false, func([]byte, []byte) error {
			found = true
			return derived.ErrStopScan
		})
		return found
	}
	k, _ := held.(*bolt.Bucket).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}
