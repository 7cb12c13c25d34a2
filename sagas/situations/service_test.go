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
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// register is a register whose facts the test sets.
type register struct {
	mu     sync.Mutex
	people map[string]catalogue.Person
	// drafts and standing answer DraftsOf and StandingGrants (the latter
	// keyed by person "/" service).
	drafts   map[string][]situation.DraftRef
	standing map[string][]situation.GrantRef
	// afterFamily, when set, runs at the end of each Family read, with the
	// lock held: the register moves on while the saga decides.
	afterFamily func()
}

func (r *register) WaitFor(context.Context, eventstore.Position) error { return nil }
func (r *register) Position() eventstore.Position                      { return 0 }
func (r *register) Person(id string) (catalogue.Person, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.people[id]
	return p, ok
}
func (r *register) Family(id string) map[string]catalogue.Person {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.afterFamily != nil {
		defer r.afterFamily()
	}
	out := map[string]catalogue.Person{}
	if p, ok := r.people[id]; ok {
		out[id] = p
		for _, c := range append(append([]string{}, p.Children...), p.Parents...) {
			if q, ok := r.people[c]; ok {
				out[c] = q
			}
		}
	}
	return out
}

func (r *register) DraftsOf(person string) []situation.DraftRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drafts[person]
}

func (r *register) StandingGrants(person, service string) []situation.GrantRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.standing[person+"/"+service]
}

type fixture struct {
	store *embedded.Store
	clock *clock.Manual
	reg   *register
	svc   *situations.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	reg := &register{people: map[string]catalogue.Person{}}
	store, clk, svc := openService(t, func(*embedded.Store) situations.Register { return reg })
	return &fixture{store: store, clock: clk, reg: reg, svc: svc}
}

// openService opens a store on a manual clock at 2026-03-01 09:00 UTC
// and the sagas over it with the default catalogue and the register
// register makes of the store.
func openService(t *testing.T, register func(*embedded.Store) situations.Register) (*embedded.Store, *clock.Manual, *situations.Service) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := situations.NewService(situations.Config{Store: store, Catalogue: cat, Register: register(store), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return store, clk, svc
}

var (
	mother = "6f1c3c1e-0000-4000-8000-000000000001"
	child  = "6f1c3c1e-0000-4000-8000-0000000000c1"
)

func (f *fixture) birth(t *testing.T, birthDate string) eventstore.RecordedEvent {
	t.Helper()
	f.reg.people[mother] = catalogue.Person{ID: mother, FamilyName: "Ivanova", GivenName: "Maria", BirthDate: "1994-03-01",
		Sex: "F", Citizenship: "RU", Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Moscow, Tverskaya 1", Children: []string{child}}
	f.reg.people[child] = catalogue.Person{ID: child, BirthDate: birthDate, Sex: "M", Region: "RU-MOW", Parents: []string{mother}}
	data, _ := json.Marshal(map[string]any{
		"record_number": "770-1", "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
		"birth_date": birthDate, "sex": "M", "mother_id": mother, "region": "RU-MOW", "time_zone": "Europe/Moscow",
		"address": "Moscow, Tverskaya 1",
	})
	id := uuid.New()
	res, err := f.store.Append(context.Background(), "person-"+child, eventstore.Any, eventstore.Event{ID: id, Type: "birth.registered", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := f.store.ReadAll(context.Background(), res.Position-1, eventstore.Filter{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return evs[0]
}

func (f *fixture) state(t *testing.T, id uuid.UUID) *situation.State {
	t.Helper()
	evs, err := f.store.ReadStream(context.Background(), situation.Stream(id), 0, eventstore.Forwards, 1000)
	if err != nil {
		t.Fatal(err)
	}
	st := &situation.State{}
	for _, e := range evs {
		if err := st.Apply(e.Type, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func outcomes(st *situation.State) map[string]situation.Outcome {
	out := map[string]situation.Outcome{}
	for _, s := range st.Steps {
		out[s.Decision.Service] = s.Outcome
	}
	return out
}

func TestBirthOpensTheBundleOnceAndConfirmsADraft(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := f.birth(t, "2026-02-20")

	openings, err := f.svc.HandleTrigger(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(openings) != 1 || !openings[0].Opened || openings[0].Kind != "birth-of-child" {
		t.Fatalf("want birth-of-child opened, got %+v", openings)
	}
	st := f.state(t, openings[0].ID)
	want := map[string]situation.Outcome{
		"birth-certificate": "granted", "child-snils": "granted", "maternity-capital": "granted",
		"child-allowance": "drafted", "child-health-insurance": "drafted", "residence-registration": "drafted",
		"kindergarten-queue": "granted",
	}
	got := outcomes(st)
	for svc, o := range want {
		if got[svc] != o {
			t.Errorf("%s: want %s, got %q", svc, o, got[svc])
		}
	}
	if st.Opened.CatalogueVersion == "" || st.Opened.Trigger.EventID != ev.ID {
		t.Errorf("the decision must record its catalogue version and trigger: %+v", st.Opened)
	}

	// A redelivered trigger opens nothing new.
	again, err := f.svc.HandleTrigger(ctx, ev)
	if err != nil || again[0].Opened {
		t.Fatalf("redelivery: want nothing opened, got %+v, %v", again, err)
	}
	if n := len(f.state(t, openings[0].ID).Steps); n != len(st.Steps) {
		t.Fatalf("redelivery doubled steps: %d then %d", len(st.Steps), n)
	}

	var draft uuid.UUID
	for _, s := range st.Steps {
		if s.Decision.Service == "residence-registration" {
			draft = s.ID
		}
	}
	if _, err := f.svc.ConfirmDraft(ctx, openings[0].ID, draft, mother, nil); err != nil {
		t.Fatal(err)
	}
	// Confirming again is a no-op; declining it now is a conflict.
	pos, err := f.svc.ConfirmDraft(ctx, openings[0].ID, draft, mother, nil)
	if err != nil || pos == 0 {
		t.Fatalf("repeat confirm: %d %v", pos, err)
	}
	if _, err := f.svc.DeclineDraft(ctx, openings[0].ID, draft, mother, ""); !errors.Is(err, situation.ErrConflict) {
		t.Fatalf("decline a confirmed draft: want conflict, got %v", err)
	}
	if got := outcomes(f.state(t, openings[0].ID))["residence-registration"]; got != situation.OutcomeSubmitted {
		t.Fatalf("confirmed draft: want submitted, got %s", got)
	}
}

func TestOldBirthOpensNothing(t *testing.T) {
	f := newFixture(t)
	ev := f.birth(t, "2025-08-01") // 212 days before 2026-03-01
	openings, err := f.svc.HandleTrigger(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(openings) != 1 || openings[0].Opened {
		t.Fatalf("want nothing opened for a birth outside the 180-day window, got %+v", openings)
	}
	if _, err := f.store.ReadStream(context.Background(), situation.Stream(openings[0].ID), 0, eventstore.Forwards, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("want no situation stream, got %v", err)
	}
}

func TestTimersRemindExpireAndAgencyDecides(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := f.birth(t, "2026-02-20")
	openings, err := f.svc.HandleTrigger(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	timers := situations.NewTimers(f.svc, 24*time.Hour, nil)
	fold := func() { foldTimers(t, f.store, timers) }
	fold()
	st := f.state(t, openings[0].ID)
	var insurance, allowance uuid.UUID
	for _, s := range st.Steps {
		switch s.Decision.Service {
		case "child-health-insurance":
			insurance = s.ID
		case "child-allowance":
			allowance = s.ID
		}
	}
	if _, err := f.svc.ConfirmDraft(ctx, openings[0].ID, allowance, mother, nil); err != nil {
		t.Fatal(err)
	}
	fold()
	// A day later the agency has decided the confirmed draft.
	_ = f.clock.Advance(25 * time.Hour)
	if err := timers.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	fold()
	if got := outcomes(f.state(t, openings[0].ID))["child-allowance"]; got != catalogue.OutcomeGranted {
		t.Fatalf("agency: want granted, got %s", got)
	}
	// Past the insurance draft's deadline it expires.
	step, _ := f.state(t, openings[0].ID).Step(insurance)
	deadline, _ := time.Parse(time.DateOnly, step.Decision.Deadline)
	_ = f.clock.Set(deadline.Add(48 * time.Hour))
	if err := timers.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(f.state(t, openings[0].ID))["child-health-insurance"]; got != situation.OutcomeExpired {
		t.Fatalf("past the deadline: want expired, got %s", got)
	}
}
