// Package situation is the life-situation saga's model: the events it
// records in its `situation-<id>` stream, the state folded from them, and the
// pure commands that decide what to record next. It does no I/O: the saga
// runner in sagas/ loads a stream, calls a command and appends the result
// with the stream's revision as the expectation.
package situation

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonenc"
)

// Event types of a situation stream.
const (
	TypeOpened             = "situation.opened"
	TypeStepDecided        = "situation.step_decided"
	TypeDraftConfirmed     = "draft.confirmed"
	TypeDraftDeclined      = "draft.declined"
	TypeDraftExpired       = "draft.expired"
	TypeDraftWithdrawn     = "draft.withdrawn"
	TypeDraftReminded      = "draft.reminded"
	TypeApplicationDecided = "application.decided"
	TypeGrantWithdrawn     = "grant.withdrawn"
	TypeRated              = "situation.rated"
)

// StreamPrefix starts every situation stream's name.
const StreamPrefix = "situation-"

// Stream is the name of a situation's stream.
func Stream(id uuid.UUID) string { return StreamPrefix + id.String() }

// namespace roots every deterministic id of this package (UUIDv5), so that a
// redelivered trigger never opens a second situation or decides a step twice.
var namespace = uuid.MustParse("5b0c4b0e-3f0a-5d7e-9c51-6c1f2a9e7d10")

// ID is the situation opened by a trigger event: the same trigger always
// gives the same situation.
func ID(kind string, trigger uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(kind+"/"+trigger.String()))
}

// StepID identifies a step by its stable catalogue key within a situation.
// A draft's id is its step's id.
func StepID(situation uuid.UUID, key string) uuid.UUID {
	return uuid.NewSHA1(situation, []byte("step/"+key))
}

// GrantID is the grant a step results in, automatically or after the
// agency's decision.
func GrantID(step uuid.UUID) uuid.UUID { return uuid.NewSHA1(step, []byte("grant")) }

// EntryID is the registry entry a grant made.
func EntryID(grant uuid.UUID) uuid.UUID { return uuid.NewSHA1(grant, []byte("entry")) }

// EventID is the deterministic id of an event a command records: the same
// command on the same state records the same ids, so retries are no-ops.
func EventID(situation uuid.UUID, what string) uuid.UUID {
	return uuid.NewSHA1(situation, []byte("event/"+what))
}

// Trigger is the registry (or calendar) event that opened a situation.
type Trigger struct {
	EventID   uuid.UUID `json:"event_id"`
	Type      string    `json:"type"`
	Stream    string    `json:"stream"`
	Position  uint64    `json:"position"`
	EventDate string    `json:"event_date"`
	// Data is the trigger's data, so that follow-ups decided later read
	// exactly what the first decisions read.
	Data json.RawMessage `json:"data,omitempty"`
}

// Opened starts a situation.
type Opened struct {
	SituationID      uuid.UUID      `json:"situation_id"`
	Kind             string         `json:"kind"`
	Title            catalogue.Text `json:"title"`
	PersonID         string         `json:"person_id"`
	Participants     []string       `json:"participants"`
	Trigger          Trigger        `json:"trigger"`
	CatalogueVersion string         `json:"catalogue_version"`
	CatalogueHash    string         `json:"catalogue_hash"`
	// RegisterPosition is the log position the register had reached when
	// the facts were read: an auditor rebuilds the register as of it.
	RegisterPosition uint64               `json:"register_position"`
	Parameters       []catalogue.ParamUse `json:"parameters,omitempty"`
	// Facts are the register facts the decision read, as they stood.
	Facts    map[string]catalogue.Person `json:"facts,omitempty"`
	OpenedAt time.Time                   `json:"opened_at"`
}

// StepDecided records the decision on one step: granted (with its registry
// entry), drafted, notified or rejected (with reasons).
type StepDecided struct {
	SituationID uuid.UUID              `json:"situation_id"`
	StepID      uuid.UUID              `json:"step_id"`
	Decision    catalogue.StepDecision `json:"decision"`
	// For a grant: the grant and its entry in Decision.Registry.
	GrantID   uuid.UUID `json:"grant_id,omitzero"`
	EntryID   uuid.UUID `json:"entry_id,omitzero"`
	DecidedAt time.Time `json:"decided_at"`
	// ParentStepID is set on a follow-up: the step whose confirmation
	// offered it. ExpiredStepID on the notice of a missed deadline.
	ParentStepID  uuid.UUID `json:"parent_step_id,omitzero"`
	ExpiredStepID uuid.UUID `json:"expired_step_id,omitzero"`
}

// DraftConfirmed: the applicant confirmed a draft, with their corrections;
// the step is now submitted to the agency.
type DraftConfirmed struct {
	SituationID uuid.UUID      `json:"situation_id"`
	DraftID     uuid.UUID      `json:"draft_id"`
	Fields      map[string]any `json:"fields,omitempty"`
	By          string         `json:"by"`
	At          time.Time      `json:"at"`
}

// DraftDeclined: the applicant declined a draft.
type DraftDeclined struct {
	SituationID uuid.UUID `json:"situation_id"`
	DraftID     uuid.UUID `json:"draft_id"`
	Reason      string    `json:"reason,omitempty"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// DraftExpired: the deadline passed with the draft unconfirmed.
type DraftExpired struct {
	SituationID uuid.UUID `json:"situation_id"`
	DraftID     uuid.UUID `json:"draft_id"`
	Deadline    string    `json:"deadline"`
	At          time.Time `json:"at"`
}

// DraftWithdrawn: a later event cancelled a draft that was open or
// submitted and not yet decided (the applicant died): the agency's pending
// decision goes with it.
type DraftWithdrawn struct {
	SituationID uuid.UUID `json:"situation_id"`
	DraftID     uuid.UUID `json:"draft_id"`
	Reason      string    `json:"reason"`
	// Explanation says why in words, for the notification.
	Explanation catalogue.Text `json:"explanation,omitzero"`
	// Notify are the persons told of the withdrawal (when the applicant
	// died, whoever else is concerned); empty: the step's usual addressees.
	Notify  []string  `json:"notify,omitempty"`
	CauseID uuid.UUID `json:"cause_id,omitzero"`
	At      time.Time `json:"at"`
}

// DraftRef names a draft and its situation.
type DraftRef struct {
	Situation uuid.UUID `json:"situation"`
	Draft     uuid.UUID `json:"draft"`
}

// GrantRef names a grant and its situation.
type GrantRef struct {
	Situation uuid.UUID `json:"situation"`
	Grant     uuid.UUID `json:"grant"`
}

// DraftReminded: a reminder of an open draft's deadline was due.
type DraftReminded struct {
	SituationID uuid.UUID `json:"situation_id"`
	DraftID     uuid.UUID `json:"draft_id"`
	Due         string    `json:"due"`
	Deadline    string    `json:"deadline"`
	At          time.Time `json:"at"`
}

// ApplicationDecided: the agency decided a submitted draft.
type ApplicationDecided struct {
	SituationID uuid.UUID          `json:"situation_id"`
	DraftID     uuid.UUID          `json:"draft_id"`
	Outcome     catalogue.Outcome  `json:"outcome"` // granted or rejected
	Reasons     []catalogue.Reason `json:"reasons,omitempty"`
	GrantID     uuid.UUID          `json:"grant_id,omitzero"`
	EntryID     uuid.UUID          `json:"entry_id,omitzero"`
	Registry    string             `json:"registry,omitempty"`
	Agency      string             `json:"agency"`
	At          time.Time          `json:"at"`
}

// GrantWithdrawn: the beneficiary's applicant opted out of a grant (reason
// ReasonOptOut), or a newer grant of the same standing service replaced it
// (ReasonSuperseded: the kindergarten place moved to the new region).
type GrantWithdrawn struct {
	SituationID uuid.UUID `json:"situation_id"`
	GrantID     uuid.UUID `json:"grant_id"`
	Reason      string    `json:"reason"`
	// Explanation says why in words, for the notification.
	Explanation catalogue.Text `json:"explanation,omitzero"`
	// ReplacedBy is the grant that replaced this one.
	ReplacedBy *GrantRef `json:"replaced_by,omitempty"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// Reasons of a withdrawal.
const (
	ReasonOptOut     = "opt-out"
	ReasonSuperseded = "superseded"
	ReasonDied       = "applicant-died"
)

// Rated: a citizen rated a situation.
type Rated struct {
	SituationID uuid.UUID `json:"situation_id"`
	Score       int       `json:"score"`
	Comment     string    `json:"comment,omitempty"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// Record is an event a command wants appended: its deterministic id, type
// and payload.
type Record struct {
	ID   uuid.UUID
	Type string
	Data any
}

// Payload marshals a record's data.
func (r Record) Payload() (json.RawMessage, error) { return jsonenc.Marshal(r.Data) }
