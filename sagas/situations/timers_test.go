package situations_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
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
	fold := func() { t.Helper(); foldTimers(t, f.store, timers) }
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

// failingOnce fails the first append to one stream, as a store that lost
// its disk for a moment.
type failingOnce struct {
	eventstore.Store
	mu     sync.Mutex
	stream string
	failed bool
}

func (s *failingOnce) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	s.mu.Lock()
	fail := stream == s.stream && !s.failed
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return eventstore.AppendResult{}, errors.New("disk unavailable")
	}
	return s.Store.Append(ctx, stream, expected, events...)
}

// A tick fires many situations' reminders side by side: each is recorded
// once, and one whose append failed is fired again by the next tick
// while the others are not.
func TestTickFiresManySituationsAndRetriesTheFailedOne(t *testing.T) {
	ctx := context.Background()
	reg := &register{people: map[string]catalogue.Person{}}
	store, clk, _ := openService(t, func(*embedded.Store) situations.Register { return reg })
	failing := &failingOnce{Store: store}
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := situations.NewService(situations.Config{Store: failing, Catalogue: cat, Register: reg, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var sits []uuid.UUID
	for i := range 24 {
		person := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i)}).String()
		reg.people[person] = catalogue.Person{ID: person, FamilyName: "Ivanova", GivenName: "Maria", BirthDate: "2006-03-01",
			Sex: "F", Citizenship: "RU", Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Moscow, Tverskaya 1"}
		data, _ := json.Marshal(map[string]any{"person_id": person, "age": 20, "date": "2026-03-01"})
		res, err := failing.Append(ctx, "person-"+person, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "age.reached", Data: data})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := failing.ReadAll(ctx, res.Position-1, eventstore.Filter{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		openings, err := svc.HandleTrigger(ctx, evs[0])
		if err != nil || len(openings) != 1 {
			t.Fatal(openings, err)
		}
		sits = append(sits, openings[0].ID)
	}
	timers := situations.NewTimers(svc, 24*time.Hour, nil)
	fold := func() { t.Helper(); foldTimers(t, failing, timers) }
	fold()
	reminded := func(id uuid.UUID) int {
		t.Helper()
		evs, err := failing.ReadStream(ctx, situation.Stream(id), 0, eventstore.Forwards, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == situation.TypeDraftReminded {
				n++
			}
		}
		return n
	}
	// Every passport draft is reminded on its first reminder day, 30 days on.
	if err := clk.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	failing.mu.Lock()
	failing.stream = situation.Stream(sits[7])
	failing.mu.Unlock()
	if err := timers.Tick(ctx); err == nil {
		t.Fatal("tick: want the failed append's error")
	}
	fold()
	for i, id := range sits {
		want := 1
		if i == 7 {
			want = 0
		}
		if got := reminded(id); got != want {
			t.Fatalf("situation %d after the failing tick: %d reminders, want %d", i, got, want)
		}
	}
	if err := timers.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	fold()
	for i, id := range sits {
		if got := reminded(id); got != 1 {
			t.Fatalf("situation %d after the next tick: %d reminders, want 1", i, got)
		}
	}
}

// foldTimers folds into timers the situation events it has not seen yet.
func foldTimers(t *testing.T, store eventstore.Store, timers *situations.Timers) {
	t.Helper()
	evs, err := store.ReadAll(context.Background(), timers.Position(), eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := timers.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
}
