package situations_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/sagas/situations"
)

// nullStore takes every append and keeps nothing: the benchmark measures
// the decision, not the store.
type nullStore struct {
	eventstore.Store
	pos eventstore.Position
}

func (s *nullStore) Append(_ context.Context, _ string, _ eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	s.pos += eventstore.Position(len(events))
	return eventstore.AppendResult{NextRevision: eventstore.Revision(len(events) - 1), Position: s.pos}, nil
}

// BenchmarkHandleTriggerBirth opens birth-of-child (seven steps) for a
// new trigger each time: reading the data, deciding, encoding the events
// and the consequences, over a store that keeps nothing.
func BenchmarkHandleTriggerBirth(b *testing.B) {
	reg := birthFamily()
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc, err := situations.NewService(situations.Config{Store: &nullStore{}, Catalogue: cat, Register: reg, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{
		"record_number": "770-1", "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
		"birth_date": "2026-02-20", "sex": "M", "mother_id": mother, "father_id": father, "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
	ev := eventstore.RecordedEvent{
		Event: eventstore.Event{Type: "birth.registered", Data: data,
			Metadata: eventstore.Metadata{RecordedAt: time.Date(2026, 2, 21, 10, 0, 0, 0, time.UTC)}},
		Stream: "person-" + child, Position: 1,
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ev.ID = uuid.New()
		openings, err := svc.HandleTrigger(ctx, ev)
		if err != nil || len(openings) != 1 || !openings[0].Opened {
			b.Fatalf("%+v, %v", openings, err)
		}
	}
}

// The newborn's father and older sister in birthFamily.
const (
	father = "6f1c3c1e-0000-4000-8000-0000000000f1"
	older  = "6f1c3c1e-0000-4000-8000-0000000000c0"
)

// birthFamily is a register of a family that has a second child: the
// mother and father with incomes, an older sister and the newborn.
func birthFamily() *register {
	return &register{people: map[string]catalogue.Person{
		mother: {ID: mother, FamilyName: "Ivanova", GivenName: "Maria", BirthDate: "1994-03-01", Sex: "F", Citizenship: "RU",
			Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Moscow, Tverskaya 1", Children: []string{older, child},
			Incomes: map[string]float64{"2024": 600000, "2025": 640000}},
		father: {ID: father, FamilyName: "Ivanov", GivenName: "Petr", BirthDate: "1992-07-11", Sex: "M", Citizenship: "RU",
			Region: "RU-MOW", TimeZone: "Europe/Moscow", Children: []string{older, child}, Incomes: map[string]float64{"2025": 300000}},
		older: {ID: older, BirthDate: "2021-05-05", Sex: "F", Region: "RU-MOW", Parents: []string{mother, father}},
		child: {ID: child, BirthDate: "2026-02-20", Sex: "M", Region: "RU-MOW", Parents: []string{mother, father}},
	}}
}
