package register

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// step is what the register keeps of a drafted step until the agency
// decides it: application.decided names only the draft, whose id is the
// step's.
type step struct {
	Service     string `json:"service"`
	Applicant   string `json:"applicant"`
	Beneficiary string `json:"beneficiary"`
}

// stepDecided is the part of situation.StepDecided the register reads.
type stepDecided struct {
	StepID   uuid.UUID `json:"step_id"`
	Decision struct {
		Service     string            `json:"service"`
		Outcome     catalogue.Outcome `json:"outcome"`
		Applicant   string            `json:"applicant"`
		Beneficiary string            `json:"beneficiary"`
	} `json:"decision"`
}

// draftClosed is the part of the events ending a draft the register reads.
type draftClosed struct {
	DraftID uuid.UUID         `json:"draft_id"`
	Outcome catalogue.Outcome `json:"outcome"`
}

// applySituation folds a situation event that grants a service or may later
// lead to a grant; other situation events change no fact.
func (b *batch) applySituation(eventType string, data []byte) error {
	switch eventType {
	case situation.TypeStepDecided:
		var e stepDecided
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		s := step{Service: e.Decision.Service, Applicant: e.Decision.Applicant, Beneficiary: e.Decision.Beneficiary}
		switch e.Decision.Outcome {
		case catalogue.OutcomeGranted:
			return b.granted(s)
		case catalogue.OutcomeDrafted:
			return b.keepStep(e.StepID, s)
		}
	case situation.TypeApplicationDecided, situation.TypeDraftExpired,
		situation.TypeDraftDeclined, situation.TypeDraftWithdrawn:
		var e draftClosed
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		return b.draftClosed(eventType, e)
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
	if eventType == situation.TypeApplicationDecided && e.Outcome == catalogue.OutcomeGranted {
		var s step
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode step %s: %w", e.DraftID, err)
		}
		if err := b.granted(s); err != nil {
			return err
		}
	}
	if err := b.steps.Delete(e.DraftID[:]); err != nil {
		return fmt.Errorf("forget step %s: %w", e.DraftID, err)
	}
	return nil
}
