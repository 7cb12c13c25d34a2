package sagarouter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// catalogueTriggers is what cmd passes: the event types some situation of
// the catalogue triggers on.
func (e *env) catalogueTriggers(eventType string) bool { return len(e.cat.Situations(eventType)) > 0 }

// checkpointsAt fails unless every partition's checkpoint is at pos.
func checkpointsAt(t testing.TB, cp watermillstore.Checkpoints, partitions int, pos eventstore.Position) {
	t.Helper()
	for i := range partitions {
		key := watermillstore.CheckpointKey("situations", "person-", &watermillstore.Partition{Index: i, Count: partitions})
		got, err := cp.Load(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if got != pos {
			t.Errorf("partition %d checkpoint at %d, want %d", i, got, pos)
		}
	}
}

// TestTriggersFilterPassesOverTheRestAndSettles: with Triggers, events of
// other types reach no handler, yet Settled and the checkpoints move past
// them; a trigger among them is still handled.
func TestTriggersFilterPassesOverTheRestAndSettles(t *testing.T) {
	const partitions = 4
	e := newEnv(t)
	mother := newID()
	e.person(mother, "1994-03-01")
	cp := watermillstore.NewMemoryCheckpoints()
	r := e.startWith(sagarouter.Config{Checkpoints: cp, Partitions: partitions, Triggers: e.catalogueTriggers})
	for range 50 {
		id := newID()
		e.person(id, "1980-01-01")
		e.append("person-"+id, "income.reported", map[string]any{"person_id": id, "year": 2025, "annual_income_rub": 1000})
	}
	birth := e.birth(mother, newID(), "2026-02-20")
	for range 20 {
		e.person(newID(), "1980-01-01")
	}
	e.settle(r)
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
	last := e.last()
	r.stop()
	checkpointsAt(t, cp, partitions, last)
}

// TestTriggersLeftOutAreNotHandled: an event type Triggers leaves out opens
// nothing, even one the catalogue triggers on, and the router still settles.
func TestTriggersLeftOutAreNotHandled(t *testing.T) {
	e := newEnv(t)
	mother := newID()
	e.person(mother, "1994-03-01")
	r := e.startWith(sagarouter.Config{
		Checkpoints: watermillstore.NewMemoryCheckpoints(), Partitions: 2,
		Triggers: func(eventType string) bool { return eventType != "birth.registered" },
	})
	birth := e.birth(mother, newID(), "2026-02-20")
	e.settle(r)
	if sits := e.situationEvents(); len(sits) != 0 {
		t.Fatalf("%d situations opened by a birth left out of the triggers", len(sits))
	}
	if n, _ := e.reg.attempts(birth.Position); n != 0 {
		t.Errorf("birth handled %d times, want never", n)
	}
}

// BenchmarkCatchUp: a router started on a log of 20,000 events, mostly
// registrations and incomes with a birth per 100 persons, until Settled.
func BenchmarkCatchUp(b *testing.B) {
	const persons, incomes = 4000, 4 // 5 events a person
	for _, bc := range []struct {
		name     string
		triggers bool
	}{{"triggers=all", false}, {"triggers=catalogue", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var events int
			var took time.Duration
			for range b.N {
				e := newEnv(b)
				events = loadPopulation(e, persons, incomes)
				cp, err := watermillstore.OpenBoltCheckpoints(filepath.Join(b.TempDir(), "checkpoints.db"))
				if err != nil {
					b.Fatal(err)
				}
				cfg := sagarouter.Config{Checkpoints: cp, Partitions: 4}
				if bc.triggers {
					cfg.Triggers = e.catalogueTriggers
				}
				began := time.Now()
				r := e.startWith(cfg)
				for {
					ok, err := r.Settled(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						break
					}
					time.Sleep(time.Millisecond)
				}
				took += time.Since(began)
				r.stop()
				_ = cp.Close()
			}
			b.ReportMetric(float64(events*b.N)/took.Seconds(), "events/s")
		})
	}
}

// loadPopulation appends persons with their incomes, each person in one
// append, and a birth to every 100th; it returns the events appended.
func loadPopulation(e *env, persons, incomes int) int {
	ctx := context.Background()
	n := 0
	ev := func(typ string, data any) eventstore.Event {
		raw, err := json.Marshal(data)
		if err != nil {
			e.t.Fatal(err)
		}
		n++
		return eventstore.Event{ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: raw,
			Metadata: eventstore.Metadata{OccurredAt: e.clk.Now(), Source: "urn:bench"}}
	}
	for i := range persons {
		id := newID()
		evs := []eventstore.Event{ev("person.registered", map[string]any{
			"person_id": id, "family_name": "Ivanova", "given_name": "Maria", "birth_date": "1994-03-01", "sex": "F",
			"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
		})}
		for y := range incomes {
			evs = append(evs, ev("income.reported", map[string]any{"person_id": id, "year": 2020 + y, "annual_income_rub": 480000}))
		}
		if _, err := e.store.Append(ctx, "person-"+id, eventstore.Any, evs...); err != nil {
			e.t.Fatal(err)
		}
		if i%100 == 99 {
			child := newID()
			birth := ev("birth.registered", map[string]any{
				"record_number": fmt.Sprintf("770-%d", i), "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
				"birth_date": "2026-02-20", "sex": "M", "mother_id": id, "region": "RU-MOW", "time_zone": "Europe/Moscow",
				"address": "Moscow, Tverskaya 1",
			})
			if _, err := e.store.Append(ctx, "person-"+child, eventstore.Any, birth); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	return n
}
