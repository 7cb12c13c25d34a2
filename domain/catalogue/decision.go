package catalogue

import "errors"

// Outcome is the result of deciding one step.
type Outcome string

const (
	OutcomeGranted  Outcome = "granted"
	OutcomeDrafted  Outcome = "drafted"
	OutcomeNotified Outcome = "notified"
	OutcomeRejected Outcome = "rejected"
)

// ErrNotTriggered: the event does not meet the situation's trigger condition.
var ErrNotTriggered = errors.New("the event does not meet the situation's trigger condition")

// Decision is what a situation bundles for one life event.
type Decision struct {
	Situation        string `json:"situation"`
	Title            Text   `json:"title"`
	CatalogueVersion string `json:"catalogue_version"`
	CatalogueHash    string `json:"catalogue_hash"`
	EventType        string `json:"event_type"`
	EventID          string `json:"event_id"`
	EventDate        string `json:"event_date"`
	Today            string `json:"today"`
	// Applicant is the situation's main person; Participants everyone it concerns.
	Applicant    string   `json:"applicant"`
	Participants []string `json:"participants"`
	// WithdrawDraftsOf: every open draft of these persons is to be withdrawn
	// (the deceased's, on a death).
	WithdrawDraftsOf []string       `json:"withdraw_drafts_of,omitempty"`
	Steps            []StepDecision `json:"steps"`
	// Parameters read by the situation-level expressions.
	Parameters []ParamUse `json:"parameters,omitempty"`
}

// StepDecision is the decision on one step: one service for one applicant
// (and, for a for_each step, one item).
type StepDecision struct {
	// Key identifies the step within the situation, stable across replays:
	// the step path with the item, e.g. "school-transfer[<child id>]" or
	// "passport-replacement[<id>]/snils-update".
	Key string `json:"key"`
	// Step is the step path without items, for DecideFollowUps.
	Step        string   `json:"step"`
	Service     string   `json:"service"`
	Title       Text     `json:"title"`
	Agency      string   `json:"agency"`
	Mode        Mode     `json:"mode"`
	Outcome     Outcome  `json:"outcome"`
	OptOut      bool     `json:"opt_out,omitempty"`
	Applicant   string   `json:"applicant"`
	Beneficiary string   `json:"beneficiary"`
	Item        any      `json:"item,omitempty"`
	Reasons     []Reason `json:"reasons,omitempty"`
	// Values are the step's let bindings as computed (e.g. the per-capita
	// income and the threshold it was compared with), for explanations.
	Values map[string]any `json:"values,omitempty"`
	Rules  []RuleCheck    `json:"rules,omitempty"`
	// Prefill holds the pre-filled fields of a draft, or the details of a
	// grant. Empty for a rejection.
	Prefill    map[string]any `json:"prefill,omitempty"`
	Editable   []string       `json:"editable,omitempty"`
	Deadline   string         `json:"deadline,omitempty"`
	Reminders  []string       `json:"reminders,omitempty"`
	OnExpiry   string         `json:"on_expiry,omitempty"`
	Curator    Curator        `json:"curator"`
	Registry   string         `json:"registry,omitempty"`
	LegalBasis string         `json:"legal_basis"`
	// FollowUps are the services offered once this step is confirmed or granted.
	FollowUps  []string   `json:"follow_ups,omitempty"`
	Parameters []ParamUse `json:"parameters,omitempty"`
}

// ReasonKind tells a failed rule from an informative note.
type ReasonKind string

const (
	ReasonRule ReasonKind = "rule"
	ReasonNote ReasonKind = "note"
)

// Reason explains an outcome in words.
type Reason struct {
	Kind       ReasonKind `json:"kind"`
	Rule       string     `json:"rule,omitempty"`
	Text       Text       `json:"text"`
	LegalBasis string     `json:"legal_basis,omitempty"`
}

// RuleCheck is one eligibility rule evaluated, passed or not.
type RuleCheck struct {
	Rule       string `json:"rule"`
	Passed     bool   `json:"passed"`
	LegalBasis string `json:"legal_basis"`
}
