package situations

import (
	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
)

// FastStepDecided is what the timers read of a step decision, for the
// tests that hold their decoding to encoding/json's.
type FastStepDecided struct {
	SituationID, StepID uuid.UUID
	Outcome             catalogue.Outcome
	Applicant, Deadline string
	Reminders           []string
	Decision            catalogue.StepDecision
}

// DecodeStepDecidedFast decodes data as the timers do; false when they
// leave it to encoding/json.
func DecodeStepDecidedFast(data []byte) (FastStepDecided, bool, error) {
	e, ok := decodeStepDecidedFast(data)
	if !ok {
		return FastStepDecided{}, false, nil
	}
	d, err := pendingDecision{raw: e.decision}.decision()
	return FastStepDecided{SituationID: e.situationID, StepID: e.stepID, Outcome: e.outcome, Applicant: e.applicant,
		Deadline: e.deadline, Reminders: e.reminders, Decision: d}, true, err
}
