package cabinet_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// byID orders two ids of rows with the same time as the lists do.
func byID(a, b uuid.UUID) (uuid.UUID, uuid.UUID) {
	if bytes.Compare(a[:], b[:]) > 0 {
		return b, a
	}
	return a, b
}

func TestFoldsABirthIntoDraftsGrantsAndASituation(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-1")
	f.openSituation(b.opened(), b.steps()...)

	drafts, err := f.cab.Drafts(mother)
	if err != nil {
		t.Fatal(err)
	}
	first, second := byID(stepID(b.id, b.allowance), stepID(b.id, b.residence))
	if len(drafts) != 2 || drafts[0].ID != first || drafts[1].ID != second {
		t.Fatalf("drafts = %+v, want %s then %s", drafts, first, second)
	}
	allowance, err := f.cab.Draft(b.id, stepID(b.id, b.allowance))
	if err != nil {
		t.Fatal(err)
	}
	want := cabinet.Draft{
		ID: stepID(b.id, b.allowance), Service: "child-allowance", Title: b.allowance.Title,
		Situation: b.id, SituationKind: "birth-of-child", Status: situation.StatusOpen, Outcome: catalogue.OutcomeDrafted,
		Applicant: mother, Beneficiary: child, Prefill: b.allowance.Prefill, Editable: []string{"bank_account"},
		Fields: map[string]any{}, Reasons: b.allowance.Reasons, Deadline: "2026-08-28",
		LegalBasis: "81-FZ art. 9", Curator: b.allowance.Curator,
	}
	if !allowance.CreatedAt.Equal(start) || !allowance.UpdatedAt.Equal(start) {
		t.Errorf("created_at %s, updated_at %s, want %s", allowance.CreatedAt, allowance.UpdatedAt, start)
	}
	allowance.CreatedAt, allowance.UpdatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(allowance, want) {
		t.Errorf("draft\n got %+v\nwant %+v", allowance, want)
	}

	grants, err := f.cab.Grants(mother)
	if err != nil {
		t.Fatal(err)
	}
	first, second = byID(grantID(b.id, b.certificate), grantID(b.id, b.queue))
	if len(grants) != 2 || grants[0].ID != first || grants[1].ID != second {
		t.Fatalf("grants = %+v, want %s then %s", grants, first, second)
	}
	queue, err := f.cab.Grant(b.id, grantID(b.id, b.queue))
	if err != nil {
		t.Fatal(err)
	}
	if queue.Situation != b.id || queue.Status != cabinet.GrantActive || !queue.OptOut || queue.Registry != "education" ||
		queue.EntryID != situation.EntryID(queue.ID) || queue.Details["region"] != "RU-MOW" ||
		queue.Beneficiary != child || queue.Applicant != mother || !queue.GrantedAt.Equal(start) {
		t.Errorf("kindergarten grant = %+v", queue)
	}

	sits, err := f.cab.Situations(mother)
	if err != nil {
		t.Fatal(err)
	}
	if len(sits) != 1 || sits[0].ID != b.id || sits[0].Kind != "birth-of-child" || sits[0].Status != cabinet.SituationOpen ||
		sits[0].EventDate != "2026-02-20" || !sits[0].OpenedAt.Equal(start) {
		t.Fatalf("situations = %+v", sits)
	}
	steps := sits[0].Steps
	wantOutcomes := []situation.Outcome{"granted", "drafted", "granted", "rejected", "drafted"}
	if len(steps) != len(wantOutcomes) {
		t.Fatalf("steps = %+v", steps)
	}
	for i, st := range steps {
		if st.Outcome != wantOutcomes[i] || st.Service != b.steps()[i].Service {
			t.Errorf("step %d = %s %s, want %s %s", i, st.Service, st.Outcome, b.steps()[i].Service, wantOutcomes[i])
		}
	}
	if steps[0].GrantID != grantID(b.id, b.certificate) || steps[0].DraftID != uuid.Nil {
		t.Errorf("certificate step ids: draft %s, grant %s", steps[0].DraftID, steps[0].GrantID)
	}
	if steps[1].DraftID != stepID(b.id, b.allowance) || steps[1].Deadline != "2026-08-28" || steps[1].Curator.Name != "I. Petrova" {
		t.Errorf("allowance step = %+v", steps[1])
	}
	if len(steps[3].Reasons) != 1 || steps[3].Reasons[0].LegalBasis != "256-FZ art. 3" {
		t.Errorf("rejection reasons = %+v", steps[3].Reasons)
	}

	notes, err := f.cab.Notifications(mother)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 5 {
		t.Fatalf("%d notifications, want one per step: %+v", len(notes), notes)
	}
	for i, n := range notes {
		// Newest first: the steps were decided in order, at one instant.
		d := b.steps()[len(b.steps())-1-i]
		if n.Service != d.Service || n.Kind != cabinet.KindOutcome || n.Outcome != d.Outcome || n.Situation != b.id {
			t.Errorf("notification %d = %+v, want %s %s", i, n, d.Service, d.Outcome)
		}
	}
	if got := notes[3].Text.EN; got != "“Child allowance”: the application has been filled in for you. Check it and confirm it by 28 August 2026." {
		t.Errorf("drafted text = %q", got)
	}
	if got := notes[3].Text.RU; got != "«Пособие на ребёнка»: заявление заполнено за вас. Проверьте его и подтвердите до 28 августа 2026." {
		t.Errorf("drafted text = %q", got)
	}
	if got := notes[1].Text.EN; got != "“Maternity capital”: refused. Reason: The mother is not a citizen of RU." {
		t.Errorf("rejected text = %q", got)
	}
	if notes[3].DraftID != stepID(b.id, b.allowance) || notes[2].GrantID != grantID(b.id, b.queue) {
		t.Errorf("notification ids: %+v, %+v", notes[3], notes[2])
	}
	// The newborn beneficiary is told nothing; the mother is.
	if notes, _ := f.cab.Notifications(child); len(notes) != 0 {
		t.Errorf("the newborn has notifications: %+v", notes)
	}
}

func TestFoldsADraftsLife(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-2")
	f.openSituation(b.opened(), b.steps()...)
	residence, allowance, queue := stepID(b.id, b.residence), stepID(b.id, b.allowance), grantID(b.id, b.queue)

	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Confirm(residence, map[string]any{"address": "Moscow, Arbat 5"}, mother, now)
	})
	d, err := f.cab.DraftFor(mother, residence)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != situation.StatusConfirmed || d.Outcome != situation.OutcomeSubmitted || d.Fields["address"] != "Moscow, Arbat 5" ||
		!d.UpdatedAt.Equal(start.Add(time.Hour)) || !d.CreatedAt.Equal(start) {
		t.Errorf("confirmed draft = %+v", d)
	}

	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.AgencyDecide(residence, catalogue.OutcomeGranted, nil, now)
	})
	d, _ = f.cab.Draft(b.id, residence)
	granted := situation.GrantID(residence)
	if d.Status != situation.StatusConfirmed || d.Outcome != catalogue.OutcomeGranted || d.GrantID != granted {
		t.Errorf("granted draft = %+v", d)
	}
	g, err := f.cab.GrantFor(mother, granted)
	if err != nil {
		t.Fatal(err)
	}
	if g.DraftID != residence || g.Details["address"] != "Moscow, Arbat 5" || g.Registry != "residence" ||
		!g.GrantedAt.Equal(start.Add(2*time.Hour)) || g.OptOut {
		t.Errorf("grant on the application = %+v", g)
	}

	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Remind(allowance, "2026-05-30", now), nil
	})
	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Expire(allowance, nil, now), nil
	})
	if d, _ := f.cab.Draft(b.id, allowance); d.Status != situation.StatusExpired || d.Outcome != situation.OutcomeExpired {
		t.Errorf("expired draft = %+v", d)
	}

	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawGrant(queue, mother, now)
	})
	g, _ = f.cab.Grant(b.id, queue)
	if g.Status != cabinet.GrantWithdrawn || !g.WithdrawnAt.Equal(start.Add(5*time.Hour)) {
		t.Errorf("withdrawn grant = %+v", g)
	}

	f.later(time.Hour)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(4, "quick", mother, now)
	})
	s, err := f.cab.SituationFor(mother, b.id)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != cabinet.SituationCompleted || s.Rating == nil || s.Rating.Score != 4 || s.Rating.Comment != "quick" {
		t.Errorf("situation = %+v", s)
	}
	if s, _ := f.cab.SituationFor(child, b.id); s.Rating != nil {
		t.Errorf("the child sees the mother's rating: %+v", s.Rating)
	}

	notes, err := f.cab.Notifications(mother)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		service string
		kind    cabinet.NotificationKind
		outcome situation.Outcome
	}
	want := []seen{
		{"kindergarten-queue", cabinet.KindOutcome, situation.OutcomeWithdrawn},
		{"child-allowance", cabinet.KindOutcome, situation.OutcomeExpired},
		{"child-allowance", cabinet.KindReminder, catalogue.OutcomeDrafted},
		{"residence-registration", cabinet.KindOutcome, catalogue.OutcomeGranted},
		{"residence-registration", cabinet.KindOutcome, situation.OutcomeSubmitted},
	}
	if len(notes) != len(want)+5 {
		t.Fatalf("%d notifications, want %d: %+v", len(notes), len(want)+5, notes)
	}
	for i, w := range want {
		n := notes[i]
		if (seen{n.Service, n.Kind, n.Outcome}) != w {
			t.Errorf("notification %d = %s %s %s, want %v", i, n.Service, n.Kind, n.Outcome, w)
		}
		if i > 0 && !n.At.Before(notes[i-1].At) {
			t.Errorf("notification %d at %s is not older than %s", i, n.At, notes[i-1].At)
		}
	}
	if got := notes[2].Text.EN; got != "Reminder: confirm the application “Child allowance” by 28 August 2026." {
		t.Errorf("reminder text = %q", got)
	}
	if notes[2].Deadline != "2026-08-28" || notes[2].DraftID != allowance {
		t.Errorf("reminder = %+v", notes[2])
	}
	if got := notes[3].Text.EN; got != "“Residence registration”: your application was approved." {
		t.Errorf("granted text = %q", got)
	}
	if got := notes[0].Text.RU; got != "«Очередь в детский сад»: вы отказались от услуги, запись в реестре отозвана." {
		t.Errorf("withdrawn text = %q", got)
	}
}

func TestFoldsDeclinedAndWithdrawnDrafts(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-3")
	f.openSituation(b.opened(), b.steps()...)
	residence, allowance := stepID(b.id, b.residence), stepID(b.id, b.allowance)

	f.later(time.Minute)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Decline(allowance, "not needed", mother, now)
	})
	f.later(time.Minute)
	f.command(b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawDraftsOf(mother, situation.WithdrawOrder{Reason: "the applicant died", Cause: uuid.New()}, now), nil
	})
	if d, _ := f.cab.Draft(b.id, allowance); d.Status != situation.StatusDeclined {
		t.Errorf("declined draft = %+v", d)
	}
	if d, _ := f.cab.Draft(b.id, residence); d.Status != situation.StatusWithdrawn || d.Outcome != situation.OutcomeWithdrawn {
		t.Errorf("withdrawn draft = %+v", d)
	}
	notes, _ := f.cab.Notifications(mother)
	if len(notes) != 7 {
		t.Fatalf("%d notifications, want 7", len(notes))
	}
	if notes[0].Text.EN != "“Residence registration”: the application was cancelled; there is nothing more to confirm." ||
		notes[1].Text.EN != "“Child allowance”: you declined the application." {
		t.Errorf("texts: %q, %q", notes[0].Text.EN, notes[1].Text.EN)
	}
	if s, _ := f.cab.SituationFor(mother, b.id); s.Status != cabinet.SituationCompleted {
		t.Errorf("situation status = %s, want completed", s.Status)
	}
}

func TestNotifiesTheBeneficiaryWhenAnotherAdult(t *testing.T) {
	f := newFixture(t)
	id := situation.ID("bereavement", uuid.New())
	step := func(key, applicant, beneficiary string) catalogue.StepDecision {
		return catalogue.StepDecision{Key: key, Service: key, Outcome: catalogue.OutcomeDrafted,
			Title: catalogue.Text{RU: key, EN: key}, Applicant: applicant, Beneficiary: beneficiary}
	}
	f.openSituation(situation.Opened{SituationID: id, Kind: "bereavement", PersonID: father,
		Facts: map[string]catalogue.Person{
			mother: {ID: mother, BirthDate: "1990-01-01"}, father: {ID: father, BirthDate: "1988-07-07"},
			child: {ID: child, BirthDate: "2026-02-20"},
		}},
		step("for-an-adult", father, mother), step("for-a-minor", father, child),
		step("for-someone-unknown", father, stranger), step("for-oneself", father, father))

	count := func(person string) map[string]int {
		notes, err := f.cab.Notifications(person)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, n := range notes {
			out[n.Service]++
		}
		return out
	}
	if got := count(father); !reflect.DeepEqual(got, map[string]int{"for-an-adult": 1, "for-a-minor": 1, "for-someone-unknown": 1, "for-oneself": 1}) {
		t.Errorf("applicant's notifications = %v", got)
	}
	if got := count(mother); !reflect.DeepEqual(got, map[string]int{"for-an-adult": 1}) {
		t.Errorf("adult beneficiary's notifications = %v", got)
	}
	if got := count(child); len(got) != 0 {
		t.Errorf("minor beneficiary's notifications = %v", got)
	}
	if got := count(stranger); !reflect.DeepEqual(got, map[string]int{"for-someone-unknown": 1}) {
		t.Errorf("beneficiary of unknown age's notifications = %v", got)
	}
}

func TestLookupsOfWhatDoesNotExist(t *testing.T) {
	f := newFixture(t)
	if _, err := f.cab.Draft(uuid.New(), uuid.New()); !errors.Is(err, cabinet.ErrNotFound) {
		t.Errorf("draft: %v", err)
	}
	if _, err := f.cab.Grant(uuid.New(), uuid.New()); !errors.Is(err, cabinet.ErrNotFound) {
		t.Errorf("grant: %v", err)
	}
	if _, err := f.cab.SituationFor(mother, uuid.New()); !errors.Is(err, cabinet.ErrNotFound) {
		t.Errorf("situation: %v", err)
	}
	drafts, err := f.cab.Drafts(mother)
	if err != nil || drafts == nil || len(drafts) != 0 {
		t.Errorf("drafts of nobody's = %v, %v; want an empty list", drafts, err)
	}
}
