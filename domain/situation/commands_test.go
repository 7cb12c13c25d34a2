package situation_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

var now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// fold applies records to a state as the store would hand them back.
func fold(t *testing.T, st *situation.State, recs ...situation.Record) {
	t.Helper()
	for _, r := range recs {
		data, err := r.Payload()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(r.Type, data); err != nil {
			t.Fatal(err)
		}
	}
}

func step(key, service string, outcome catalogue.Outcome, applicant, beneficiary string, optOut bool) catalogue.StepDecision {
	return catalogue.StepDecision{Key: key, Service: service, Outcome: outcome, Applicant: applicant,
		Beneficiary: beneficiary, OptOut: optOut, Mode: catalogue.ModeDraft}
}

func TestWithdrawDraftsOfTheDeceased(t *testing.T) {
	id := situation.ID("birth-of-child", uuid.New())
	st := &situation.State{}
	fold(t, st, situation.Open(situation.Opened{SituationID: id, Kind: "birth-of-child", PersonID: "mother",
		Participants: []string{"mother", "child", "father"}}, []catalogue.StepDecision{
		step("open", "child-health-insurance", catalogue.OutcomeDrafted, "mother", "child", false),
		step("submitted", "child-allowance", catalogue.OutcomeDrafted, "mother", "child", false),
		step("decided", "residence-registration", catalogue.OutcomeDrafted, "mother", "child", false),
		step("declined", "x", catalogue.OutcomeDrafted, "mother", "child", false),
		step("fathers", "y", catalogue.OutcomeDrafted, "father", "child", false),
		step("grant", "child-snils", catalogue.OutcomeGranted, "mother", "child", false),
	}, now)...)
	draft := func(key string) uuid.UUID { return situation.StepID(id, key) }
	confirm := func(key string) {
		recs, err := st.Confirm(draft(key), nil, "mother", now)
		if err != nil {
			t.Fatal(err)
		}
		fold(t, st, recs...)
	}
	confirm("submitted")
	confirm("decided")
	recs, _ := st.AgencyDecide(draft("decided"), catalogue.OutcomeGranted, nil, now)
	fold(t, st, recs...)
	recs, _ = st.Decline(draft("declined"), "", "mother", now)
	fold(t, st, recs...)

	cause := uuid.New()
	o := situation.WithdrawOrder{Reason: situation.ReasonDied, Cause: cause, Notify: []string{"informant"},
		NotifyFor: map[string][]string{"child": {"father", "grandmother"}}, Exclude: []string{"mother"},
		Explanation: catalogue.Text{RU: "умерла", EN: "died"}}
	recs = st.WithdrawDraftsOf("mother", o, now)
	var withdrawn []string
	for _, r := range recs {
		e := r.Data.(situation.DraftWithdrawn)
		withdrawn = append(withdrawn, e.DraftID.String())
		if !slices.Equal(e.Notify, []string{"informant", "child", "father", "grandmother"}) || e.CauseID != cause || e.Reason != situation.ReasonDied {
			t.Errorf("withdrawal %+v", e)
		}
	}
	want := []string{draft("open").String(), draft("submitted").String()}
	if !slices.Equal(withdrawn, want) {
		t.Fatalf("withdrawn %v, want the open and the submitted drafts %v", withdrawn, want)
	}
	fold(t, st, recs...)
	for key, outcome := range map[string]catalogue.Outcome{"open": situation.OutcomeWithdrawn, "submitted": situation.OutcomeWithdrawn,
		"decided": catalogue.OutcomeGranted, "declined": situation.OutcomeDeclined, "fathers": catalogue.OutcomeDrafted} {
		s, _ := st.Step(draft(key))
		if s.Outcome != outcome {
			t.Errorf("%s: %s, want %s", key, s.Outcome, outcome)
		}
	}
	if s, _ := st.Step(draft("submitted")); s.Withdrawal == nil || s.Withdrawal.Explanation.EN != "died" {
		t.Errorf("the withdrawal is not kept: %+v", s.Withdrawal)
	}
	// The agency's decision on a withdrawn application records nothing, and
	// withdrawing again neither.
	if recs, err := st.AgencyDecide(draft("submitted"), catalogue.OutcomeGranted, nil, now); err != nil || len(recs) != 0 {
		t.Errorf("agency after the withdrawal: %v %v", recs, err)
	}
	if recs := st.WithdrawDraftsOf("mother", o, now); len(recs) != 0 {
		t.Errorf("withdrawn twice: %v", recs)
	}
	if st.Status() != "open" { // the father's draft still waits
		t.Errorf("status %s", st.Status())
	}
}

func TestSupersedeAStandingGrant(t *testing.T) {
	id := situation.ID("birth-of-child", uuid.New())
	st := &situation.State{}
	fold(t, st, situation.Open(situation.Opened{SituationID: id, Kind: "birth-of-child", PersonID: "mother"},
		[]catalogue.StepDecision{
			step("queue", "kindergarten-queue", catalogue.OutcomeGranted, "mother", "child", true),
			step("snils", "child-snils", catalogue.OutcomeGranted, "mother", "child", false),
		}, now)...)
	grant := func(key string) uuid.UUID { return situation.GrantID(situation.StepID(id, key)) }
	by := situation.GrantRef{Situation: uuid.New(), Grant: uuid.New()}
	why := catalogue.Text{RU: "перенесена", EN: "moved"}

	if recs, err := st.SupersedeGrant(grant("snils"), by, why, "saga:move", now); err != nil || len(recs) != 0 {
		t.Errorf("a grant without opt-out is not replaced: %v %v", recs, err)
	}
	recs, err := st.SupersedeGrant(grant("queue"), by, why, "saga:move", now)
	if err != nil || len(recs) != 1 {
		t.Fatalf("replace: %v %v", recs, err)
	}
	raw, _ := recs[0].Payload()
	var e situation.GrantWithdrawn
	_ = json.Unmarshal(raw, &e)
	if e.Reason != situation.ReasonSuperseded || e.ReplacedBy == nil || *e.ReplacedBy != by || e.Explanation != why {
		t.Errorf("withdrawal %+v", e)
	}
	fold(t, st, recs...)
	s, _ := st.StepByGrant(grant("queue"))
	if s.Outcome != situation.OutcomeWithdrawn || !s.Grant.Withdrawn || s.Withdrawal.ReplacedBy.Grant != by.Grant {
		t.Errorf("step %+v", s)
	}
	if recs, _ := st.SupersedeGrant(grant("queue"), by, why, "saga:move", now); len(recs) != 0 {
		t.Errorf("replaced twice: %v", recs)
	}
	if _, err := st.SupersedeGrant(uuid.New(), by, why, "saga:move", now); err == nil {
		t.Error("an unknown grant is not an error")
	}
}

// A citizen may change their rating and change it back: each change is a
// new event, and only repeating the rating in force is a no-op.
func TestRatingsChangeAndChangeBack(t *testing.T) {
	id := situation.ID("birth-of-child", uuid.New())
	st := &situation.State{}
	fold(t, st, situation.Open(situation.Opened{SituationID: id, Kind: "birth-of-child", PersonID: "mother",
		Participants: []string{"mother"}}, []catalogue.StepDecision{
		step("grant", "child-snils", catalogue.OutcomeGranted, "mother", "mother", false),
	}, now)...)
	seen := map[uuid.UUID]bool{}
	for i, score := range []int{5, 4, 5} {
		recs, err := st.Rate(score, "", "mother", now)
		if err != nil || len(recs) != 1 {
			t.Fatalf("rating %d (%d): %v %v", i, score, recs, err)
		}
		if seen[recs[0].ID] {
			t.Fatalf("rating %d (%d) reuses an earlier rating's id: the store would drop it as a duplicate", i, score)
		}
		seen[recs[0].ID] = true
		fold(t, st, recs...)
		if st.Rating.Score != score {
			t.Fatalf("rating in force %d, want %d", st.Rating.Score, score)
		}
	}
	if recs, err := st.Rate(5, "", "mother", now); err != nil || len(recs) != 0 {
		t.Errorf("repeating the rating in force: want nothing new, got %v %v", recs, err)
	}
}
