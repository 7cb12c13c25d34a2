package sealed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (eventstore.Store, func(*testing.T) eventstore.Store) {
		dir := t.TempDir()
		open := func(t *testing.T) eventstore.Store {
			t.Helper()
			return openSealed(t, dir)
		}
		return open(t), open
	})
}

func openSealed(t testing.TB, dir string) *sealed.Store {
	t.Helper()
	inner, err := embedded.Open(filepath.Join(dir, "events"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	keys, err := keystore.OpenIn(dir)
	if err != nil {
		t.Fatalf("open keys: %v", err)
	}
	return sealed.New(inner, keys)
}

const (
	person = "11111111-1111-4111-8111-111111111111"
	child  = "22222222-2222-4222-8222-222222222222"
)

func registered(id, family, address string) eventstore.Event {
	data, _ := json.Marshal(map[string]any{
		"person_id": id, "family_name": family, "given_name": "Anna", "birth_date": "1990-05-01",
		"sex": "F", "citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": address,
	})
	return eventstore.Event{ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: data}
}

func TestSealsOnAppendOpensOnRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openSealed(t, dir)
	defer s.Close()
	ev := registered(person, "Smirnova", "Moscow, Tverskaya 1")
	if _, err := s.Append(ctx, "person-"+person, eventstore.Any, ev); err != nil {
		t.Fatal(err)
	}
	// Below the decorator: sealed.
	raw, err := s.Inner().ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw[0].Data, []byte("Smirnova")) || bytes.Contains(raw[0].Data, []byte("Tverskaya")) {
		t.Fatalf("stored in clear: %s", raw[0].Data)
	}
	var stored map[string]any
	if err := json.Unmarshal(raw[0].Data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored["region"] != "RU-MOW" || stored["person_id"] != person {
		t.Fatalf("ids and statistics must stay in clear: %s", raw[0].Data)
	}
	// Through it: as appended, by every read.
	got, err := s.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, got[0].Data, ev.Data)
	all, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, all[0].Data, ev.Data)
	sub, cancel := context.WithCancel(ctx)
	err = s.SubscribeAll(sub, 0, eventstore.Filter{}, func(e eventstore.RecordedEvent) error {
		assertSame(t, e.Data, ev.Data)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe: %v", err)
	}

	// Erased: the fields read as the marker, the rest as before.
	if err := s.Keys().Erase(ctx, person); err != nil {
		t.Fatal(err)
	}
	got, err = s.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	var after map[string]any
	if err := json.Unmarshal(got[0].Data, &after); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"family_name", "given_name", "address"} {
		if after[f] != personaldata.Marker {
			t.Errorf("%s after erasure = %v", f, after[f])
		}
	}
	if after["birth_date"] != "1990-05-01" || after["region"] != "RU-MOW" {
		t.Errorf("non-personal fields changed: %s", got[0].Data)
	}
	// What comes later about an erased person is not kept either.
	if _, err := s.Append(ctx, "person-"+person, eventstore.Any, registered(person, "Smirnova", "Moscow")); err != nil {
		t.Fatal(err)
	}
	raw, _ = s.Inner().ReadStream(ctx, "person-"+person, 1, eventstore.Forwards, 1)
	if bytes.Contains(raw[0].Data, []byte("Smirnova")) || !bytes.Contains(raw[0].Data, []byte(personaldata.Marker)) {
		t.Fatalf("a later event of an erased person: %s", raw[0].Data)
	}
	// After a restart too.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSealed(t, dir)
	got, err = s.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got[0].Data, []byte(`"family_name":"[erased]"`)) {
		t.Fatalf("after reopening: %s", got[0].Data)
	}
}

func TestAppendDoesNotChangeTheCallersEvents(t *testing.T) {
	ctx := context.Background()
	s := openSealed(t, t.TempDir())
	defer s.Close()
	ev := registered(person, "Smirnova", "Moscow")
	before := append([]byte(nil), ev.Data...)
	batch := []eventstore.Event{ev}
	if _, err := s.AppendMany(ctx, []eventstore.StreamAppend{{Stream: "person-" + person, Expected: eventstore.Any, Events: batch}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(batch[0].Data, before) {
		t.Fatalf("the caller's event was sealed in place: %s", batch[0].Data)
	}
}

func TestTypesWithoutPersonalFieldsPassThrough(t *testing.T) {
	ctx := context.Background()
	s := openSealed(t, t.TempDir())
	defer s.Close()
	// Odd spacing and key order: the bytes must come back exactly.
	data := json.RawMessage(`{ "person_id": "` + person + `",  "year": 2024, "annual_income_rub": 1.50e6 }`)
	if _, err := s.Append(ctx, "person-"+person, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "income.reported", Data: data}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0].Data, data) {
		t.Fatalf("got %s, want the bytes appended %s", got[0].Data, data)
	}
}

func TestEmbeddedPayloadsAndDraftsSealWithTheirOwners(t *testing.T) {
	ctx := context.Background()
	s := openSealed(t, t.TempDir())
	defer s.Close()
	birth := map[string]any{"record_number": "R1", "child_id": child, "child_family_name": "Smirnov",
		"child_given_name": "Ivan", "birth_date": "2026-01-02", "sex": "M", "mother_id": person, "address": "Moscow"}
	opened, _ := json.Marshal(map[string]any{
		"situation_id": uuid.NewString(), "kind": "birth-of-child", "person_id": person,
		"trigger": map[string]any{"type": "birth.registered", "data": birth},
		"facts":   map[string]any{person: map[string]any{"id": person, "family_name": "Smirnova", "address": "Moscow", "previous_family_name": ""}},
	})
	decided, _ := json.Marshal(map[string]any{"situation_id": uuid.NewString(), "decision": map[string]any{
		"applicant": person, "prefill": map[string]any{"child_family_name": "Smirnov", "child_id": child, "address": "Moscow"}}})
	sit := "situation-" + uuid.NewString()
	if _, err := s.Append(ctx, sit, eventstore.Any,
		eventstore.Event{ID: uuid.New(), Type: "situation.opened", Data: opened},
		eventstore.Event{ID: uuid.New(), Type: "situation.step_decided", Data: decided}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Inner().ReadStream(ctx, sit, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range raw {
		for _, plain := range []string{"Smirnov", "Ivan", "Moscow"} {
			if bytes.Contains(e.Data, []byte(plain)) {
				t.Fatalf("%s stored %q in clear: %s", e.Type, plain, e.Data)
			}
		}
	}
	// The child's erasure reaches the trigger's copy of the birth (the
	// child's fields) but not the mother's draft (her key), nor her facts.
	if err := s.Keys().Erase(ctx, child); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadStream(ctx, sit, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Trigger struct{ Data map[string]any } `json:"trigger"`
		Facts   map[string]map[string]any     `json:"facts"`
	}
	if err := json.Unmarshal(got[0].Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Trigger.Data["child_given_name"] != personaldata.Marker || o.Trigger.Data["address"] != personaldata.Marker {
		t.Errorf("trigger copy after the child's erasure: %v", o.Trigger.Data)
	}
	if o.Facts[person]["family_name"] != "Smirnova" || o.Facts[person]["previous_family_name"] != "" {
		t.Errorf("the mother's facts: %v", o.Facts[person])
	}
	var d struct {
		Decision struct{ Prefill map[string]any } `json:"decision"`
	}
	if err := json.Unmarshal(got[1].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Decision.Prefill["child_family_name"] != "Smirnov" || d.Decision.Prefill["child_id"] != child {
		t.Errorf("the mother's draft follows her key: %v", d.Decision.Prefill)
	}
}

// BenchmarkReadAll reads a log of registrations (three sealed fields
// each) and incomes (no personal field) through the decorator and straight
// from the store below, each type on its own: the incomes show the cost of
// passing through, the registrations the cost of opening.
func BenchmarkReadAll(b *testing.B) {
	ctx := context.Background()
	s := openSealed(b, b.TempDir())
	defer s.Close()
	const n = 20000 // of each type
	for i := 0; i < n; i += 500 {
		var evs []eventstore.StreamAppend
		for j := i; j < i+500; j++ {
			id := uuid.NewString()
			income, _ := json.Marshal(map[string]any{"person_id": id, "year": 2024, "annual_income_rub": 1e6})
			evs = append(evs, eventstore.StreamAppend{Stream: "person-" + id, Expected: eventstore.Any, Events: []eventstore.Event{
				registered(id, fmt.Sprintf("Family%d", j), "Moscow, Tverskaya street 1, flat 5"),
				{ID: uuid.New(), Type: "income.reported", Data: income},
			}})
		}
		if _, err := s.AppendMany(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	for _, typ := range []string{"income.reported", "person.registered"} {
		for _, tc := range []struct {
			name  string
			store eventstore.Store
		}{{"raw", s.Inner()}, {"sealed", s}} {
			b.Run(typ+"/"+tc.name, func(b *testing.B) {
				filter := eventstore.Filter{TypePrefixes: []string{typ}}
				for b.Loop() {
					var after eventstore.Position
					read := 0
					for {
						evs, err := tc.store.ReadAll(ctx, after, filter, 4096)
						if err != nil {
							b.Fatal(err)
						}
						if len(evs) == 0 {
							break
						}
						read += len(evs)
						after = evs[len(evs)-1].Position
					}
					if read != n {
						b.Fatalf("read %d events, want %d", read, n)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

func assertSame(t *testing.T, got, want []byte) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("got %s: %v", got, err)
	}
	_ = json.Unmarshal(want, &b)
	ga, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if !bytes.Equal(ga, wb) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestAppendManyMixed: of several streams' events, only the personal
// values are sealed, each with its owner's key, and everything reads back
// as appended.
func TestAppendManyMixed(t *testing.T) {
	ctx := context.Background()
	s := openSealed(t, t.TempDir())
	defer s.Close()
	income := func() eventstore.Event {
		return eventstore.Event{ID: uuid.New(), Type: "income.reported", Data: []byte(`{"person_id":"` + person + `","year":2024}`)}
	}
	nameless := registered(child, "", "") // its given name only
	appends := []eventstore.StreamAppend{
		{Stream: "person-" + person, Expected: eventstore.Any, Events: []eventstore.Event{income()}},
		{Stream: "person-" + child, Expected: eventstore.Any, Events: []eventstore.Event{nameless, registered(child, "Smirnova", "Moscow")}},
		{Stream: "other-" + person, Expected: eventstore.Any, Events: []eventstore.Event{registered(person, "Ivanova", "Tver"), income()}},
	}
	if _, err := s.AppendMany(ctx, appends); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Inner().ReadAll(ctx, 0, eventstore.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var want []eventstore.Event
	for _, a := range appends {
		want = append(want, a.Events...)
	}
	if len(raw) != len(want) || len(opened) != len(want) {
		t.Fatalf("%d and %d events read, want %d", len(raw), len(opened), len(want))
	}
	for i, w := range want {
		if !bytes.Equal(opened[i].Data, w.Data) {
			t.Errorf("event %d opens as %s, want %s", i, opened[i].Data, w.Data)
		}
		sealed := personaldata.Contains(raw[i].Data)
		if personal := i >= 1 && i <= 3; sealed != personal || (!personal && !bytes.Equal(raw[i].Data, w.Data)) {
			t.Errorf("event %d stored as %s", i, raw[i].Data)
		}
	}
	if !bytes.Contains(raw[2].Data, []byte(`"v2:`+child+`:`)) || !bytes.Contains(raw[3].Data, []byte(`"v2:`+person+`:`)) {
		t.Errorf("not sealed with their owners' keys: %s, %s", raw[2].Data, raw[3].Data)
	}
}
