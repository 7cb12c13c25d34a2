package situation

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
)

// Outcome of a step as the citizen sees it (CONTRACT.md section 2).
type Outcome = catalogue.Outcome

// Outcomes beyond the catalogue's first decisions.
const (
	OutcomeSubmitted Outcome = "submitted"
	OutcomeDeclined  Outcome = "declined"
	OutcomeExpired   Outcome = "expired"
	OutcomeWithdrawn Outcome = "withdrawn"
)

// DraftStatus of a draft (CONTRACT.md section 3).
type DraftStatus string

const (
	StatusOpen      DraftStatus = "open"
	StatusConfirmed DraftStatus = "confirmed"
	StatusDeclined  DraftStatus = "declined"
	StatusExpired   DraftStatus = "expired"
	StatusWithdrawn DraftStatus = "withdrawn"
)

// Step is one step's current state.
type Step struct {
	ID       uuid.UUID
	Decision catalogue.StepDecision
	Outcome  Outcome
	// Reasons: the decision's, then the agency's on a refusal.
	Reasons []catalogue.Reason
	// Draft is set for a drafted step.
	Draft *Draft
	// Grant is set once the step is granted.
	Grant     *Grant
	DecidedAt time.Time
	UpdatedAt time.Time
	Parent    uuid.UUID
	// Withdrawal is why a later event withdrew the draft or the grant.
	Withdrawal *Withdrawal
}

// Withdrawal is why a step was withdrawn, and whom to tell.
type Withdrawal struct {
	Reason      string
	Explanation catalogue.Text
	Notify      []string
	ReplacedBy  *GrantRef
}

// Draft is a pre-filled application.
type Draft struct {
	Status   DraftStatus
	Fields   map[string]any // the applicant's corrections
	Reminded []string       // reminder dates already sent
	Decided  bool           // the agency has decided the submitted draft
}

// Grant is an automatic or agency grant: an entry in a registry.
type Grant struct {
	ID        uuid.UUID
	EntryID   uuid.UUID
	Registry  string
	GrantedAt time.Time
	Withdrawn bool
}

// State is a situation folded from its stream.
type State struct {
	Opened Opened
	Steps  []*Step
	Rating *Rated
	// Ratings counts the ratings given, so that each new one gets an id of
	// its own (a citizen may change their mind and back again).
	Ratings int
	byStep  map[uuid.UUID]*Step
	grants  map[uuid.UUID]*Step
}

// IsOpen reports whether the situation has been opened.
func (s *State) IsOpen() bool { return s.Opened.SituationID != uuid.Nil }

// Step returns a step (a draft's id is its step's id).
func (s *State) Step(id uuid.UUID) (*Step, bool) { st, ok := s.byStep[id]; return st, ok }

// StepByGrant returns the step that made a grant.
func (s *State) StepByGrant(id uuid.UUID) (*Step, bool) { st, ok := s.grants[id]; return st, ok }

// Apply folds one stored event into the state.
func (s *State) Apply(eventType string, data []byte) error {
	s.init()
	switch eventType {
	case TypeOpened:
		o, err := DecodeOpened(data)
		if err != nil {
			return err
		}
		s.ApplyOpened(o)
	case TypeStepDecided:
		e, err := DecodeStepDecided(data)
		if err != nil {
			return err
		}
		s.ApplyStepDecided(e)
	case TypeDraftConfirmed:
		var e DraftConfirmed
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Status, st.Draft.Fields, st.Outcome, st.UpdatedAt = StatusConfirmed, e.Fields, OutcomeSubmitted, e.At
		})
	case TypeDraftDeclined:
		var e DraftDeclined
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Status, st.Outcome, st.UpdatedAt = StatusDeclined, OutcomeDeclined, e.At
		})
	case TypeDraftExpired:
		var e DraftExpired
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Status, st.Outcome, st.UpdatedAt = StatusExpired, OutcomeExpired, e.At
		})
	case TypeDraftWithdrawn:
		var e DraftWithdrawn
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Status, st.Outcome, st.UpdatedAt = StatusWithdrawn, OutcomeWithdrawn, e.At
			st.Withdrawal = &Withdrawal{Reason: e.Reason, Explanation: e.Explanation, Notify: e.Notify}
		})
	case TypeDraftReminded:
		var e DraftReminded
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Reminded = append(st.Draft.Reminded, e.Due)
		})
	case TypeApplicationDecided:
		var e ApplicationDecided
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		return s.onDraft(e.DraftID, eventType, func(st *Step) {
			st.Draft.Decided, st.Outcome, st.UpdatedAt = true, e.Outcome, e.At
			st.Reasons = append(st.Reasons, e.Reasons...)
			if e.Outcome == catalogue.OutcomeGranted {
				st.Grant = &Grant{ID: e.GrantID, EntryID: e.EntryID, Registry: e.Registry, GrantedAt: e.At}
				s.grants[e.GrantID] = st
			}
		})
	case TypeGrantWithdrawn:
		var e GrantWithdrawn
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		st, ok := s.grants[e.GrantID]
		if !ok {
			return fmt.Errorf("situation %s: %s of unknown grant %s", s.Opened.SituationID, eventType, e.GrantID)
		}
		st.Grant.Withdrawn, st.Outcome, st.UpdatedAt = true, OutcomeWithdrawn, e.At
		st.Withdrawal = &Withdrawal{Reason: e.Reason, Explanation: e.Explanation, ReplacedBy: e.ReplacedBy}
	case TypeRated:
		var e Rated
		if err := decodeInto(data, &e); err != nil {
			return err
		}
		s.Rating = &e
		s.Ratings++
	default:
		// Events of later schema additions are ignored by older code.
	}
	return nil
}

func (s *State) init() {
	if s.byStep == nil {
		s.byStep = map[uuid.UUID]*Step{}
		s.grants = map[uuid.UUID]*Step{}
	}
}

// ApplyOpened folds a situation.opened event already decoded, as Apply
// folds its data into a state not yet opened: a reader that decoded the
// event for its own needs does not decode it again.
func (s *State) ApplyOpened(e Opened) {
	s.init()
	s.Opened = e
}

// ApplyStepDecided folds a situation.step_decided event already decoded,
// as Apply folds its data.
func (s *State) ApplyStepDecided(e StepDecided) {
	s.init()
	st := &Step{
		ID: e.StepID, Decision: e.Decision, Outcome: e.Decision.Outcome,
		Reasons: e.Decision.Reasons, DecidedAt: e.DecidedAt, UpdatedAt: e.DecidedAt, Parent: e.ParentStepID,
	}
	if e.Decision.Outcome == catalogue.OutcomeDrafted {
		st.Draft = &Draft{Status: StatusOpen}
	}
	if e.Decision.Outcome == catalogue.OutcomeGranted {
		st.Grant = &Grant{ID: e.GrantID, EntryID: e.EntryID, Registry: e.Decision.Registry, GrantedAt: e.DecidedAt}
		s.grants[e.GrantID] = st
	}
	s.Steps = append(s.Steps, st)
	s.byStep[e.StepID] = st
}

func (s *State) onDraft(id uuid.UUID, eventType string, fn func(*Step)) error {
	st, ok := s.byStep[id]
	if !ok || st.Draft == nil {
		return fmt.Errorf("situation %s: %s of unknown draft %s", s.Opened.SituationID, eventType, id)
	}
	fn(st)
	return nil
}

// Status is the situation's overall status: open while any step waits for
// the citizen or the agency, closed otherwise.
func (s *State) Status() string {
	for _, st := range s.Steps {
		if st.Draft != nil && st.Draft.Pending() {
			return "open"
		}
	}
	return "completed"
}

func decodeInto(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}
