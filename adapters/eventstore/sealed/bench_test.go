package sealed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// discard is a store below that keeps nothing: the benchmarks measure the
// decorator alone.
type discard struct{ eventstore.Store }

func (discard) Append(context.Context, string, eventstore.ExpectedRevision, ...eventstore.Event) (eventstore.AppendResult, error) {
	return eventstore.AppendResult{}, nil
}

// memoryKeys hands keys out as a key store's cache does: without their
// cipher.
type memoryKeys struct {
	mu   sync.Mutex
	keys map[string]personaldata.Key
}

func (m *memoryKeys) Ensure(_ context.Context, persons []string) (map[string]personaldata.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]personaldata.Key, len(persons))
	for _, p := range persons {
		k, ok := m.keys[p]
		if !ok {
			k = personaldata.Key{Secret: make([]byte, personaldata.KeySize)}
			m.keys[p] = k
		}
		out[p] = k
	}
	return out, nil
}

func (m *memoryKeys) Lookup(_ context.Context, p string) (personaldata.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[p]; ok {
		return k, nil
	}
	return personaldata.Key{}, personaldata.ErrNoKey
}

func (m *memoryKeys) Erase(context.Context, string) error { return nil }

// stepDecided is a step decision with four personal pre-filled values.
func stepDecided() eventstore.Event {
	rules := make([]map[string]any, 6)
	for i := range rules {
		rules[i] = map[string]any{"rule": fmt.Sprintf("rule-%d", i), "passed": i%2 == 0, "legal_basis": "Федеральный закон № 81-ФЗ, ст. 17"}
	}
	data, _ := json.Marshal(map[string]any{
		"situation_id": "0b1f9c1e-3c7a-5c1e-9f7e-1c2d3e4f5a6b", "step_id": "5a6b7c8d-1e2f-5a3b-8c4d-5e6f7a8b9c0d",
		"decided_at": "2026-03-01T00:00:00Z",
		"decision": map[string]any{
			"key": "child-allowance", "step": "child-allowance", "service": "child-allowance",
			"title":  map[string]string{"ru": "Ежемесячное пособие", "en": "Monthly child allowance"},
			"agency": "sfr", "mode": "draft", "outcome": "drafted", "applicant": person,
			"beneficiary": child, "rules": rules,
			"values":   map[string]any{"per_capita_income": 21000.5, "threshold": 23000, "household": 3},
			"prefill":  map[string]any{"family_name": "Иванова", "given_name": "Мария", "address": "Москва, ул. Тверская, д. 1, кв. 5", "child_given_name": "Анна", "child_id": child, "amount": 12000},
			"editable": []string{"address", "bank_account"}, "deadline": "2026-08-28",
		},
	})
	return eventstore.Event{ID: uuid.New(), Type: "situation.step_decided", SchemaVersion: 1, Data: data}
}

// keyStores are the key stores the benchmarks seal and open with: one
// that hands keys out without their cipher, and the embedded one.
func keyStores(b *testing.B) map[string]personaldata.KeyStore {
	ks, err := keystore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ks.Close() })
	return map[string]personaldata.KeyStore{"memory": &memoryKeys{keys: map[string]personaldata.Key{}}, "keystore": ks}
}

// BenchmarkAppendSeals is the decorator's work on every append: a person's
// registration and a step decision.
func BenchmarkAppendSeals(b *testing.B) {
	for name, keys := range keyStores(b) {
		b.Run(name, func(b *testing.B) { benchAppend(b, keys) })
	}
}

func benchAppend(b *testing.B, keys personaldata.KeyStore) {
	ctx := context.Background()
	s := sealed.New(discard{}, keys)
	evs := []eventstore.Event{registered(person, "Smirnova", "Moscow, Tverskaya 1"), stepDecided()}
	for b.Loop() {
		if _, err := s.Append(ctx, "s", eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens events never opened before (each at a new position,
// so the cache of opened events does not answer), as the first reader of
// an event does, and an event with nothing sealed, as every reader does.
func BenchmarkOpen(b *testing.B) {
	for name, keys := range keyStores(b) {
		b.Run(name, func(b *testing.B) { benchOpen(b, keys) })
	}
}

func benchOpen(b *testing.B, keys personaldata.KeyStore) {
	ctx := context.Background()
	var stored []eventstore.Event
	below := recorder{&stored}
	s := sealed.New(below, keys)
	evs := []eventstore.Event{registered(person, "Smirnova", "Moscow, Tverskaya 1"), stepDecided()}
	if _, err := s.Append(ctx, "s", eventstore.Any, evs...); err != nil {
		b.Fatal(err)
	}
	plain := eventstore.Event{ID: uuid.New(), Type: "income.reported", Data: []byte(`{"person_id":"` + person + `","amount":42000,"period":"2026-02"}`)}
	stored = append(stored, plain)
	pos := eventstore.Position(0)
	for b.Loop() {
		for _, e := range stored {
			pos++
			r := eventstore.RecordedEvent{Event: e, Position: pos}
			if err := s.Open(ctx, &r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// recorder keeps what is appended, sealed.
type recorder struct{ stored *[]eventstore.Event }

func (r recorder) Append(_ context.Context, _ string, _ eventstore.ExpectedRevision, evs ...eventstore.Event) (eventstore.AppendResult, error) {
	*r.stored = append(*r.stored, evs...)
	return eventstore.AppendResult{}, nil
}

func (recorder) AppendMany(context.Context, []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	return nil, nil
}
func (recorder) ReadStream(context.Context, string, eventstore.Revision, eventstore.Direction, int) ([]eventstore.RecordedEvent, error) {
	return nil, nil
}
func (recorder) ReadAll(context.Context, eventstore.Position, eventstore.Filter, int) ([]eventstore.RecordedEvent, error) {
	return nil, nil
}
func (recorder) SubscribeAll(context.Context, eventstore.Position, eventstore.Filter, func(eventstore.RecordedEvent) error) error {
	return nil
}
func (recorder) LastPosition(context.Context) (eventstore.Position, error) { return 0, nil }
func (recorder) Close() error                                              { return nil }
