package situations_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// Reminders and expiry come due at the applicant's local midnight, not a
// nanosecond before, and where the applicant lives when they come due.
func TestTimersFireAtTheApplicantsLocalMidnight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// She is 20 on 1 March 2026: a passport replacement, reminded on days
	// 30 and 60.
	f.reg.people[mother] = catalogue.Person{ID: mother, FamilyName: "Ivanova", GivenName: "Maria", BirthDate: "2006-03-01",
		Sex: "F", Citizenship: "RU", Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Moscow, Tverskaya 1"}
	data, _ := json.Marshal(map[string]any{"person_id": mother, "age": 20, "date": "2026-03-01"})
	res, err := f.store.Append(ctx, "person-"+mother, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "age.reached", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.store.ReadAll(ctx, res.Position-1, eventstore.Filter{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	openings, err := f.svc.HandleTrigger(ctx, evs[0])
	if err != nil || len(openings) != 1 || !openings[0].Opened {
		t.Fatal(openings, err)
	}
	sit := openings[0].ID
	timers := situations.NewTimers(f.svc, 24*time.Hour, nil)
	fold := func() {
		t.Helper()
		evs, err := f.store.ReadAll(ctx, timers.Position(), eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}}, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if err := timers.Apply(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick := func(at time.Time) {
		t.Helper()
		if err := f.clock.Set(at); err != nil {
			t.Fatal(err)
		}
		if err := timers.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		fold()
	}
	fold()
	var draft uuid.UUID
	for _, s := range f.state(t, sit).Steps {
		if s.Draft != nil && len(s.Decision.Reminders) >= 2 && s.Decision.Deadline != "" {
			draft = s.ID
			break
		}
	}
	if draft == uuid.Nil {
		t.Fatal("no draft with two reminders and a deadline")
	}
	step := func() *situation.Step {
		s, _ := f.state(t, sit).Step(draft)
		return s
	}
	decision := step().Decision
	midnight := func(day string, zone string, days int) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := time.Parse(time.DateOnly, day)
		return time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, loc)
	}

	first := midnight(decision.Reminders[0], "Europe/Moscow", 0)
	tick(first.Add(-time.Nanosecond))
	if got := step().Draft.Reminded; len(got) != 0 {
		t.Fatalf("reminded before midnight in Moscow: %v", got)
	}
	tick(first)
	if got := step().Draft.Reminded; len(got) != 1 || got[0] != decision.Reminders[0] {
		t.Fatalf("at midnight in Moscow: want reminded of %s, got %v", decision.Reminders[0], got)
	}

	// The applicant moves west: the next reminder comes at midnight where
	// she lives now.
	f.reg.mu.Lock()
	p := f.reg.people[mother]
	p.TimeZone = "America/New_York"
	f.reg.people[mother] = p
	f.reg.mu.Unlock()
	tick(midnight(decision.Reminders[1], "Europe/Moscow", 0))
	if got := step().Draft.Reminded; len(got) != 1 {
		t.Fatalf("reminded at midnight in Moscow of one living in New York: %v", got)
	}
	second := midnight(decision.Reminders[1], "America/New_York", 0)
	tick(second.Add(-time.Nanosecond))
	if got := step().Draft.Reminded; len(got) != 1 {
		t.Fatalf("reminded before midnight in New York: %v", got)
	}
	tick(second)
	if got := step().Draft.Reminded; len(got) != 2 {
		t.Fatalf("at midnight in New York: want the second reminder, got %v", got)
	}

	expiry := midnight(decision.Deadline, "America/New_York", 1)
	tick(expiry.Add(-time.Nanosecond))
	if got := step().Draft.Status; got != situation.StatusOpen {
		t.Fatalf("on the deadline day: want open, got %s", got)
	}
	tick(expiry)
	if got := step().Outcome; got != situation.OutcomeExpired {
		t.Fatalf("once the day after the deadline began: want expired, got %s", got)
	}
	// Nothing is left to fire.
	tick(expiry.AddDate(1, 0, 0))
}
