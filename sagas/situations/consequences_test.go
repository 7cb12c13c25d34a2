package situations_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// event appends a registry event and returns it as stored.
func (f *fixture) event(t *testing.T, stream, eventType string, data map[string]any) eventstore.RecordedEvent {
	t.Helper()
	raw, _ := json.Marshal(data)
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: eventType, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.store.ReadAll(context.Background(), res.Position-1, eventstore.Filter{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return evs[0]
}

func stepOf(t *testing.T, st *situation.State, service string) *situation.Step {
	t.Helper()
	for _, s := range st.Steps {
		if s.Decision.Service == service {
			return s
		}
	}
	t.Fatalf("situation %s has no %s step", st.Opened.Kind, service)
	return nil
}

func TestAKindergartenPlaceMovesAndARedeliveredBirthLeavesTheNewOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	birth := f.birth(t, "2026-02-20")
	opened, err := f.svc.HandleTrigger(ctx, birth)
	if err != nil {
		t.Fatal(err)
	}
	birthSit := opened[0].ID
	oldPlace := stepOf(t, f.state(t, birthSit), "kindergarten-queue").Grant.ID

	// The register has folded the birth's grants; the mother moves.
	f.reg.mu.Lock()
	for _, id := range []string{mother, child} {
		p := f.reg.people[id]
		p.Granted = append(p.Granted, "kindergarten-queue")
		f.reg.people[id] = p
	}
	f.reg.standing = map[string][]situation.GrantRef{child + "/kindergarten-queue": {{Situation: birthSit, Grant: oldPlace}}}
	f.reg.mu.Unlock()
	move := f.event(t, "person-"+mother, "residence.changed", map[string]any{
		"person_id": mother, "from_region": "RU-MOW", "to_region": "RU-SPE", "address": "Saint Petersburg, Nevsky 1",
		"time_zone": "Europe/Moscow", "effective_date": "2026-02-28",
	})
	opened, err = f.svc.HandleTrigger(ctx, move)
	if err != nil {
		t.Fatal(err)
	}
	moveSit := opened[0].ID
	newPlace := stepOf(t, f.state(t, moveSit), "kindergarten-queue")
	if newPlace.Outcome != catalogue.OutcomeGranted || newPlace.Decision.Prefill["region"] != "RU-SPE" || newPlace.Decision.Beneficiary != child {
		t.Fatalf("the new place: %+v", newPlace.Decision)
	}
	old := stepOf(t, f.state(t, birthSit), "kindergarten-queue")
	if old.Outcome != situation.OutcomeWithdrawn || old.Withdrawal.Reason != situation.ReasonSuperseded ||
		old.Withdrawal.ReplacedBy.Grant != newPlace.Grant.ID {
		t.Fatalf("the old place: %s %+v", old.Outcome, old.Withdrawal)
	}

	// The birth is delivered again once the register knows only the new
	// place: the older trigger leaves the newer place alone.
	f.reg.mu.Lock()
	f.reg.standing = map[string][]situation.GrantRef{child + "/kindergarten-queue": {{Situation: moveSit, Grant: newPlace.Grant.ID}}}
	f.reg.mu.Unlock()
	if _, err := f.svc.HandleTrigger(ctx, birth); err != nil {
		t.Fatal(err)
	}
	if st := stepOf(t, f.state(t, moveSit), "kindergarten-queue"); st.Outcome != catalogue.OutcomeGranted {
		t.Fatalf("a redelivered birth withdrew the newer place: %s", st.Outcome)
	}
}

func TestADraftForSomeoneWhoDiedMeanwhileIsWithdrawn(t *testing.T) {
	f := newFixture(t)
	ev := f.birth(t, "2026-02-20")
	// The death is folded after the saga read the facts and before it
	// recorded the drafts: the death's own handling could not see them.
	reads := 0
	f.reg.afterFamily = func() {
		// One read for the child, one for the mother: then she dies.
		if reads++; reads == 2 {
			p := f.reg.people[mother]
			p.Dead = true
			f.reg.people[mother] = p
		}
	}
	opened, err := f.svc.HandleTrigger(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	st := f.state(t, opened[0].ID)
	for _, s := range st.Steps {
		want := s.Decision.Outcome
		if s.Draft != nil {
			want = situation.OutcomeWithdrawn
		}
		if s.Outcome != want {
			t.Errorf("%s: %s, want %s", s.Decision.Service, s.Outcome, want)
		}
		if s.Draft != nil && (s.Withdrawal == nil || s.Withdrawal.Reason != situation.ReasonDied) {
			t.Errorf("%s: withdrawal %+v", s.Decision.Service, s.Withdrawal)
		}
	}
}

func TestADeathWithdrawsTheDraftsOfTheDeceasedEverywhere(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	opened, err := f.svc.HandleTrigger(ctx, f.birth(t, "2026-02-20"))
	if err != nil {
		t.Fatal(err)
	}
	birthSit := opened[0].ID
	var refs []situation.DraftRef
	for _, s := range f.state(t, birthSit).Steps {
		if s.Draft != nil {
			refs = append(refs, situation.DraftRef{Situation: birthSit, Draft: s.ID})
		}
	}
	informant := "6f1c3c1e-0000-4000-8000-0000000000f1"
	f.reg.mu.Lock()
	f.reg.drafts = map[string][]situation.DraftRef{mother: refs}
	p := f.reg.people[mother]
	p.Dead = true
	f.reg.people[mother] = p
	f.reg.people[informant] = catalogue.Person{ID: informant, BirthDate: "1990-01-01", Citizenship: "RU"}
	f.reg.mu.Unlock()

	// Reported late, past the bereavement's window: no situation, yet the
	// drafts end all the same.
	death := f.event(t, "person-"+mother, "death.registered", map[string]any{
		"record_number": "D-1", "person_id": mother, "date_of_death": "2025-06-01", "informant_id": informant, "region": "RU-MOW",
	})
	opened, err = f.svc.HandleTrigger(ctx, death)
	if err != nil {
		t.Fatal(err)
	}
	if opened[0].Opened {
		t.Fatalf("a death past the window opened %+v", opened[0])
	}
	for _, s := range f.state(t, birthSit).Steps {
		if s.Draft != nil && s.Outcome != situation.OutcomeWithdrawn {
			t.Errorf("%s: %s, want withdrawn", s.Decision.Service, s.Outcome)
		}
	}
}
