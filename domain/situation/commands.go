package situation

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
)

var (
	// ErrNotFound: no such draft or grant in the situation.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command does not fit the current state (confirming a
	// declined draft, withdrawing a grant that allows no opt-out...).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the command's input is invalid.
	ErrInvalid = errors.New("invalid")
)

// Open records a new situation and its first decisions in one batch.
func Open(o Opened, steps []catalogue.StepDecision, now time.Time) []Record {
	recs := []Record{{ID: EventID(o.SituationID, "opened"), Type: TypeOpened, Data: o}}
	for _, d := range steps {
		recs = append(recs, Decide(o.SituationID, d, uuid.Nil, now))
	}
	return recs
}

// Decide records one step decision (also used for follow-ups and notices).
func Decide(sit uuid.UUID, d catalogue.StepDecision, parent uuid.UUID, now time.Time) Record {
	step := StepID(sit, d.Key)
	e := StepDecided{SituationID: sit, StepID: step, Decision: d, DecidedAt: now, ParentStepID: parent}
	if d.Outcome == catalogue.OutcomeGranted {
		e.GrantID = GrantID(step)
		e.EntryID = EntryID(e.GrantID)
	}
	return Record{ID: EventID(sit, "decided/"+d.Key), Type: TypeStepDecided, Data: e}
}

func (s *State) draft(id uuid.UUID) (*Step, error) {
	st, ok := s.byStep[id]
	if !ok || st.Draft == nil {
		return nil, fmt.Errorf("draft %s: %w", id, ErrNotFound)
	}
	return st, nil
}

// Confirm records the applicant's confirmation with their (already
// validated) corrections. Repeating the same confirmation records nothing.
func (s *State) Confirm(draftID uuid.UUID, fields map[string]any, by string, now time.Time) ([]Record, error) {
	st, err := s.draft(draftID)
	if err != nil {
		return nil, err
	}
	switch st.Draft.Status {
	case StatusOpen:
	case StatusConfirmed:
		if sameFields(st.Draft.Fields, fields) {
			return nil, nil
		}
		return nil, fmt.Errorf("draft %s is already confirmed with other fields: %w", draftID, ErrConflict)
	default:
		return nil, fmt.Errorf("draft %s is %s and can no longer be confirmed: %w", draftID, st.Draft.Status, ErrConflict)
	}
	if len(fields) == 0 {
		fields = nil
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "confirmed/"+draftID.String()), Type: TypeDraftConfirmed,
		Data: DraftConfirmed{SituationID: s.Opened.SituationID, DraftID: draftID, Fields: fields, By: by, At: now}}}, nil
}

func sameFields(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// Decline records the applicant's refusal. Repeating it records nothing.
func (s *State) Decline(draftID uuid.UUID, reason, by string, now time.Time) ([]Record, error) {
	st, err := s.draft(draftID)
	if err != nil {
		return nil, err
	}
	switch st.Draft.Status {
	case StatusOpen:
	case StatusDeclined:
		return nil, nil
	default:
		return nil, fmt.Errorf("draft %s is %s and can no longer be declined: %w", draftID, st.Draft.Status, ErrConflict)
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "declined/"+draftID.String()), Type: TypeDraftDeclined,
		Data: DraftDeclined{SituationID: s.Opened.SituationID, DraftID: draftID, Reason: strings.TrimSpace(reason), By: by, At: now}}}, nil
}

// Remind records a due reminder of an open draft; nothing when the draft is
// no longer open or the reminder was sent.
func (s *State) Remind(draftID uuid.UUID, due string, now time.Time) []Record {
	st, err := s.draft(draftID)
	if err != nil || st.Draft.Status != StatusOpen {
		return nil
	}
	for _, r := range st.Draft.Reminded {
		if r == due {
			return nil
		}
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "reminded/"+draftID.String()+"/"+due), Type: TypeDraftReminded,
		Data: DraftReminded{SituationID: s.Opened.SituationID, DraftID: draftID, Due: due, Deadline: st.Decision.Deadline, At: now}}}
}

// Expire records that an open draft's deadline passed, and the notice the
// catalogue attaches to a missed deadline when there is one (notice is the
// decided notice step, or nil).
func (s *State) Expire(draftID uuid.UUID, notice *catalogue.StepDecision, now time.Time) []Record {
	st, err := s.draft(draftID)
	if err != nil || st.Draft.Status != StatusOpen {
		return nil
	}
	sit := s.Opened.SituationID
	recs := []Record{{ID: EventID(sit, "expired/"+draftID.String()), Type: TypeDraftExpired,
		Data: DraftExpired{SituationID: sit, DraftID: draftID, Deadline: st.Decision.Deadline, At: now}}}
	if notice != nil {
		rec := Decide(sit, *notice, uuid.Nil, now)
		e := rec.Data.(StepDecided)
		e.ExpiredStepID = draftID
		rec.Data = e
		recs = append(recs, rec)
	}
	return recs
}

// Pending reports whether a draft still waits: open, or submitted and not
// yet decided by the agency.
func (d *Draft) Pending() bool {
	return d.Status == StatusOpen || (d.Status == StatusConfirmed && !d.Decided)
}

// Withdrawal order: why drafts are withdrawn and whom to tell.
type WithdrawOrder struct {
	Reason      string
	Explanation catalogue.Text
	Cause       uuid.UUID
	// Notify are told of every withdrawal, besides whoever the step
	// concerns (the situation's person and participants, the step's
	// applicant and beneficiary).
	Notify []string
	// NotifyFor are told as well of a step whose beneficiary is the key
	// (a minor child's other parent).
	NotifyFor map[string][]string
	// Exclude are never told (the deceased).
	Exclude []string
}

// WithdrawDraftsOf withdraws every draft of applicant person that still
// waits (open, or submitted with the agency's decision pending): a later
// event ended it, the applicant's death. Repeating it records nothing.
func (s *State) WithdrawDraftsOf(person string, o WithdrawOrder, now time.Time) []Record {
	var recs []Record
	for _, st := range s.Steps {
		if st.Draft == nil || !st.Draft.Pending() || st.Decision.Applicant != person {
			continue
		}
		d := st.Decision
		told := append(slices.Clone(o.Notify), s.Opened.PersonID)
		told = append(append(told, s.Opened.Participants...), d.Applicant, d.Beneficiary)
		told = append(told, o.NotifyFor[d.Beneficiary]...)
		e := DraftWithdrawn{SituationID: s.Opened.SituationID, DraftID: st.ID, Reason: o.Reason, Explanation: o.Explanation,
			Notify: others(told, o.Exclude), CauseID: o.Cause, At: now}
		recs = append(recs, Record{ID: EventID(s.Opened.SituationID, "withdrawn/"+st.ID.String()), Type: TypeDraftWithdrawn, Data: e})
	}
	return recs
}

// others is ids without repeats, empties and those in exclude, in order.
func others(ids, exclude []string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) && !slices.Contains(exclude, id) {
			out = append(out, id)
		}
	}
	return out
}

// AgencyDecide records the agency's decision on a submitted draft; nothing
// when it was decided already.
func (s *State) AgencyDecide(draftID uuid.UUID, outcome Outcome, reasons []catalogue.Reason, now time.Time) ([]Record, error) {
	st, err := s.draft(draftID)
	if err != nil {
		return nil, err
	}
	if st.Draft.Status != StatusConfirmed || st.Draft.Decided {
		return nil, nil
	}
	if outcome != catalogue.OutcomeGranted && outcome != catalogue.OutcomeRejected {
		return nil, fmt.Errorf("agency outcome %q: want granted or rejected: %w", outcome, ErrInvalid)
	}
	e := ApplicationDecided{SituationID: s.Opened.SituationID, DraftID: draftID, Outcome: outcome, Reasons: reasons,
		Agency: st.Decision.Agency, At: now}
	if outcome == catalogue.OutcomeGranted {
		e.GrantID = GrantID(st.ID)
		e.EntryID = EntryID(e.GrantID)
		e.Registry = st.Decision.Registry
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "agency/"+draftID.String()), Type: TypeApplicationDecided, Data: e}}, nil
}

// WithdrawGrant records an opt-out of a grant that allows it. Repeating it
// records nothing.
func (s *State) WithdrawGrant(grantID uuid.UUID, by string, now time.Time) ([]Record, error) {
	st, ok := s.grants[grantID]
	if !ok {
		return nil, fmt.Errorf("grant %s: %w", grantID, ErrNotFound)
	}
	if st.Grant.Withdrawn {
		return nil, nil
	}
	if !st.Decision.OptOut {
		return nil, fmt.Errorf("grant %s (%s) does not allow opting out: %w", grantID, st.Decision.Service, ErrConflict)
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "grant-withdrawn/"+grantID.String()), Type: TypeGrantWithdrawn,
		Data: GrantWithdrawn{SituationID: s.Opened.SituationID, GrantID: grantID, Reason: ReasonOptOut, By: by, At: now}}}, nil
}

// SupersedeGrant withdraws a grant of a standing service (one that allows
// opting out: a place in a queue) that a newer grant of the same service to
// the same beneficiary replaced. Nothing when it is withdrawn already, or
// when it is not a standing grant.
func (s *State) SupersedeGrant(grantID uuid.UUID, by GrantRef, why catalogue.Text, actor string, now time.Time) ([]Record, error) {
	st, ok := s.grants[grantID]
	if !ok {
		return nil, fmt.Errorf("grant %s: %w", grantID, ErrNotFound)
	}
	if st.Grant.Withdrawn || !st.Decision.OptOut || by.Grant == grantID {
		return nil, nil
	}
	return []Record{{ID: EventID(s.Opened.SituationID, "grant-withdrawn/"+grantID.String()), Type: TypeGrantWithdrawn,
		Data: GrantWithdrawn{SituationID: s.Opened.SituationID, GrantID: grantID, Reason: ReasonSuperseded,
			Explanation: why, ReplacedBy: &by, By: actor, At: now}}}, nil
}

// Rate records a citizen's rating of the situation (the last one counts).
func (s *State) Rate(score int, comment, by string, now time.Time) ([]Record, error) {
	if score < 1 || score > 5 {
		return nil, fmt.Errorf("score %d: must be 1 to 5: %w", score, ErrInvalid)
	}
	if r := s.Rating; r != nil && r.By == by && r.Score == score && r.Comment == comment {
		return nil, nil // the same rating again: nothing new
	}
	what := fmt.Sprintf("rated/%s/%d", by, s.Ratings+1)
	return []Record{{ID: EventID(s.Opened.SituationID, what), Type: TypeRated,
		Data: Rated{SituationID: s.Opened.SituationID, Score: score, Comment: comment, By: by, At: now}}}, nil
}
