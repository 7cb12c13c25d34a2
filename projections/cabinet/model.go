package cabinet

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// Draft is a pre-filled application as the citizen sees it (CONTRACT.md
// section 3), with the situation it belongs to.
type Draft struct {
	ID            uuid.UUID             `json:"id"`
	Service       string                `json:"service"`
	Title         catalogue.Text        `json:"title"`
	Situation     uuid.UUID             `json:"situation"`
	SituationKind string                `json:"situation_kind"`
	Status        situation.DraftStatus `json:"status"`
	// Outcome is the step's: drafted, then submitted, granted, rejected...
	Outcome     situation.Outcome `json:"outcome"`
	Applicant   string            `json:"applicant"`
	Beneficiary string            `json:"beneficiary"`
	Prefill     map[string]any    `json:"prefill"`
	Editable    []string          `json:"editable"`
	// Fields are the corrections the applicant confirmed the draft with.
	Fields     map[string]any     `json:"fields"`
	Reasons    []catalogue.Reason `json:"reasons"`
	Deadline   Date               `json:"deadline"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	LegalBasis string             `json:"legal_basis"`
	Curator    catalogue.Curator  `json:"curator"`
	// GrantID is set once the agency granted the application.
	GrantID uuid.UUID `json:"grant_id,omitzero"`
}

// GrantStatus tells an active grant from one withdrawn.
type GrantStatus string

const (
	GrantActive    GrantStatus = "active"
	GrantWithdrawn GrantStatus = "withdrawn"
)

// Grant is an entry a registry made for the citizen, automatically or on an
// application.
type Grant struct {
	ID            uuid.UUID      `json:"id"`
	Service       string         `json:"service"`
	Title         catalogue.Text `json:"title"`
	Situation     uuid.UUID      `json:"situation"`
	SituationKind string         `json:"situation_kind"`
	Status        GrantStatus    `json:"status"`
	Applicant     string         `json:"applicant"`
	Beneficiary   string         `json:"beneficiary"`
	GrantedAt     time.Time      `json:"granted_at"`
	WithdrawnAt   time.Time      `json:"withdrawn_at,omitzero"`
	Registry      string         `json:"registry"`
	EntryID       uuid.UUID      `json:"entry_id"`
	// Details are the step's prefill, with the applicant's corrections for
	// a grant made on a confirmed draft.
	Details map[string]any `json:"details"`
	// OptOut: the applicant may withdraw the grant.
	OptOut     bool              `json:"opt_out"`
	LegalBasis string            `json:"legal_basis"`
	Curator    catalogue.Curator `json:"curator"`
	// DraftID is the application the grant was made on, if any.
	DraftID uuid.UUID `json:"draft_id,omitzero"`
	// ReplacedBy is the grant that replaced a withdrawn one (a
	// kindergarten place moved to the new region).
	ReplacedBy uuid.UUID `json:"replaced_by,omitzero"`
	// ReplacedIn is the situation of the grant that replaced it, to read
	// that grant by (Cabinet.Grant).
	ReplacedIn uuid.UUID `json:"-"`
}

// SituationStatus is open while a step waits for the citizen or the agency.
type SituationStatus string

const (
	SituationOpen      SituationStatus = "open"
	SituationCompleted SituationStatus = "completed"
)

// Situation is a life situation with the steps its viewer may see.
type Situation struct {
	ID        uuid.UUID       `json:"id"`
	Kind      string          `json:"kind"`
	Title     catalogue.Text  `json:"title"`
	EventDate string          `json:"event_date,omitempty"`
	OpenedAt  time.Time       `json:"opened_at"`
	Status    SituationStatus `json:"status"`
	Steps     []Step          `json:"steps"`
	// Rating is the viewer's own rating of the situation, if any.
	Rating *Rating `json:"rating,omitempty"`
}

// Step is one service of a situation and where it stands.
type Step struct {
	Service     string             `json:"service"`
	Title       catalogue.Text     `json:"title"`
	Outcome     situation.Outcome  `json:"outcome"`
	Reasons     []catalogue.Reason `json:"reasons"`
	Applicant   string             `json:"applicant"`
	Beneficiary string             `json:"beneficiary"`
	DraftID     uuid.UUID          `json:"draft_id,omitzero"`
	GrantID     uuid.UUID          `json:"grant_id,omitzero"`
	Deadline    Date               `json:"deadline"`
	Curator     catalogue.Curator  `json:"curator"`
	DecidedAt   time.Time          `json:"decided_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

// Rating is a citizen's quality rating of a situation.
type Rating struct {
	Score   int       `json:"score"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// NotificationKind tells a change of outcome from a reminder.
type NotificationKind string

const (
	KindOutcome  NotificationKind = "outcome"
	KindReminder NotificationKind = "reminder"
)

// Notification tells the citizen, in plain words, that a step changed or
// that a deadline comes.
type Notification struct {
	ID            uuid.UUID         `json:"id"`
	At            time.Time         `json:"at"`
	Situation     uuid.UUID         `json:"situation"`
	SituationKind string            `json:"situation_kind"`
	Service       string            `json:"service"`
	Title         catalogue.Text    `json:"title"`
	Kind          NotificationKind  `json:"kind"`
	Outcome       situation.Outcome `json:"outcome"`
	Text          catalogue.Text    `json:"text"`
	DraftID       uuid.UUID         `json:"draft_id,omitzero"`
	GrantID       uuid.UUID         `json:"grant_id,omitzero"`
	Deadline      string            `json:"deadline,omitempty"`
}

// Date is a date (YYYY-MM-DD), null in JSON when there is none.
type Date string

func (d Date) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

func (d *Date) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = ""
	if s != nil {
		*d = Date(*s)
	}
	return nil
}
