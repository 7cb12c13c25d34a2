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

// recordingStore keeps what is appended to it as recorded events, and
// nothing else.
type recordingStore struct {
	eventstore.Store
	events []eventstore.RecordedEvent
}

func (s *recordingStore) Append(_ context.Context, stream string, _ eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	for _, e := range events {
		s.events = append(s.events, eventstore.RecordedEvent{Event: e, Stream: stream, Position: eventstore.Position(len(s.events) + 1)})
	}
	return eventstore.AppendResult{NextRevision: eventstore.Revision(len(events) - 1), Position: eventstore.Position(len(s.events))}, nil
}

// situationEvents records the situation events of births, as the
// situations service writes them: each an opening and its step decisions.
func situationEvents(tb testing.TB, births int) []eventstore.RecordedEvent {
	tb.Helper()
	reg := birthFamily()
	cat, err := catalogue.Default()
	if err != nil {
		tb.Fatal(err)
	}
	store := &recordingStore{}
	clk := clock.NewManual(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc, err := situations.NewService(situations.Config{Store: store, Catalogue: cat, Register: reg, Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{
		"record_number": "770-1", "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
		"birth_date": "2026-02-20", "sex": "M", "mother_id": mother, "father_id": father, "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
	for range births {
		ev := eventstore.RecordedEvent{
			Event: eventstore.Event{ID: uuid.New(), Type: "birth.registered", Data: data,
				Metadata: eventstore.Metadata{RecordedAt: time.Date(2026, 2, 21, 10, 0, 0, 0, time.UTC)}},
			Stream: "person-" + child,
		}
		if _, err := svc.HandleTrigger(context.Background(), ev); err != nil {
			tb.Fatal(err)
		}
	}
	var evs []eventstore.RecordedEvent
	for _, e := range store.events {
		if len(e.Stream) > len("situation-") && e.Stream[:len("situation-")] == "situation-" {
			evs = append(evs, e)
		}
	}
	return evs
}

// BenchmarkTimersApply folds the situation events of births into the
// timers' index: per birth an opening and seven step decisions, three of
// them drafts. The index is renewed every 1000 births so that it stays the
// size of a burst's.
func BenchmarkTimersApply(b *testing.B) {
	evs := situationEvents(b, 20)
	svc, err := situations.NewService(situations.Config{Store: &nullStore{}, Catalogue: mustCatalogue(b), Register: &register{}, Clock: clock.NewManual(time.Time{})})
	if err != nil {
		b.Fatal(err)
	}
	var timers *situations.Timers
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n%(1000*len(evs)/20) == 0 {
			timers = situations.NewTimers(svc, time.Hour, nil)
		}
		for _, e := range evs {
			if err := timers.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
		n += len(evs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

func mustCatalogue(tb testing.TB) *catalogue.Catalogue {
	tb.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}
