package calendar_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
	"lifesituations/sagas/calendar"
)

type fixture struct {
	t     *testing.T
	clock *clock.Manual
	store eventstore.Store
	reg   *register.Projection
	cal   *calendar.Calendar
}

// newFixture runs a store, a register following it and a calendar, all on
// a manual clock set to now.
func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	clk := clock.NewManual(now)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	reg, err := register.OpenProjection(filepath.Join(t.TempDir(), "register.db"))
	if err != nil {
		t.Fatalf("open register: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := reg.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("register: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = reg.Close()
		_ = store.Close()
	})
	f := &fixture{t: t, clock: clk, store: store, reg: reg}
	f.cal = f.newCalendar()
	return f
}

// newCalendar is a calendar as a restarted process has it: nothing in
// memory but what it reads from the log.
func (f *fixture) newCalendar() *calendar.Calendar {
	f.t.Helper()
	cal, err := calendar.New(calendar.Config{Store: f.store, Register: f.reg, Clock: f.clock, Ages: []int{14, 20, 45}})
	if err != nil {
		f.t.Fatalf("new calendar: %v", err)
	}
	return cal
}

// at moves the clock to now and ticks.
func (f *fixture) at(now time.Time) {
	f.t.Helper()
	if err := f.clock.Set(now); err != nil {
		f.t.Fatal(err)
	}
	if err := f.cal.Tick(context.Background()); err != nil {
		f.t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
	}
}

func (f *fixture) append(stream, eventType string, data any) eventstore.Position {
	f.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: eventType, SchemaVersion: 1, Data: raw,
		Metadata: eventstore.Metadata{OccurredAt: f.clock.Now()},
	})
	if err != nil {
		f.t.Fatalf("append %s: %v", eventType, err)
	}
	return res.Position
}

// person registers someone born on born (YYYY-MM-DD) living in zone.
func (f *fixture) person(born, zone string) string {
	f.t.Helper()
	id := uuid.New()
	f.append("person-"+id.String(), "person.registered", map[string]any{
		"person_id": id, "family_name": "Ivanova", "given_name": "Anna", "birth_date": born, "sex": "F",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": zone, "address": "Moscow, Tverskaya 1",
	})
	return id.String()
}

// fired lists the age.reached events in the log, by person id.
func (f *fixture) fired() map[string][]eventstore.RecordedEvent {
	f.t.Helper()
	evs, err := f.store.ReadAll(context.Background(), 0, eventstore.Filter{TypePrefixes: []string{calendar.TypeAgeReached}}, 100000)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]eventstore.RecordedEvent{}
	for _, e := range evs {
		var d calendar.AgeReached
		if err := json.Unmarshal(e.Data, &d); err != nil {
			f.t.Fatal(err)
		}
		out[d.PersonID] = append(out[d.PersonID], e)
	}
	return out
}

// reached decodes the only age.reached event of a person.
func (f *fixture) reached(fired map[string][]eventstore.RecordedEvent, id string) (calendar.AgeReached, eventstore.RecordedEvent) {
	f.t.Helper()
	evs := fired[id]
	if len(evs) != 1 {
		f.t.Fatalf("%s has %d age.reached events, want 1", id, len(evs))
	}
	var d calendar.AgeReached
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		f.t.Fatal(err)
	}
	return d, evs[0]
}

func (f *fixture) last() eventstore.Position {
	f.t.Helper()
	pos, err := f.store.LastPosition(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return pos
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
