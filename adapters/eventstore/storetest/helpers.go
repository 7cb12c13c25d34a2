package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// pageSize is the max the suite passes when it reads everything.
const pageSize = 1000

func (f *fixture) stream(name string) string { return f.prefix + name }

// event returns an event of type typ with every field set; n varies the data.
func event(typ string, n int) eventstore.Event {
	data, err := json.Marshal(map[string]any{
		"n":        n,
		"person":   map[string]any{"name": "Ана Петрова", "born": "2024-03-01"},
		"children": []int{n, n + 1},
	})
	if err != nil {
		panic(err) // static data
	}
	return eventstore.Event{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 2,
		Data:          data,
		Metadata: eventstore.Metadata{
			// Not UTC and with milliseconds: the zone offset and the
			// fraction must survive.
			OccurredAt:       time.Date(2024, 3, 1, 10, 30, 0, 123_000_000, time.FixedZone("", 3*3600)).Add(time.Duration(n) * time.Minute),
			Source:           "civil-registry",
			SourceEventID:    fmt.Sprintf("act-%d", n),
			CorrelationID:    uuid.NewString(),
			CausationID:      uuid.NewString(),
			Actor:            "registrar-17",
			CatalogueVersion: "2024.1",
			Extra:            map[string]string{"message_uuid": uuid.NewString(), "partition": fmt.Sprint(n % 4)},
		},
	}
}

func events(typ string, n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		evs[i] = event(typ, i)
	}
	return evs
}

func (f *fixture) append(stream string, exp eventstore.ExpectedRevision, evs ...eventstore.Event) eventstore.AppendResult {
	f.t.Helper()
	res, err := f.store.Append(f.ctx, stream, exp, evs...)
	if err != nil {
		f.t.Fatalf("append %d events to %s expecting %s: %v", len(evs), stream, exp, err)
	}
	return res
}

// appendConflict appends expecting a wrong-expected-revision error and
// checks that nothing was written.
func (f *fixture) appendConflict(stream string, exp eventstore.ExpectedRevision, evs ...eventstore.Event) *eventstore.WrongExpectedRevisionError {
	f.t.Helper()
	before := f.lastPosition()
	_, err := f.store.Append(f.ctx, stream, exp, evs...)
	if !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		f.t.Fatalf("append to %s expecting %s: err = %v, want ErrWrongExpectedRevision", stream, exp, err)
	}
	var detail *eventstore.WrongExpectedRevisionError
	if !errors.As(err, &detail) {
		f.t.Fatalf("append to %s expecting %s: err %v is not a *WrongExpectedRevisionError", stream, exp, err)
	}
	if detail.Stream != stream {
		f.t.Errorf("conflict names stream %q, want %q", detail.Stream, stream)
	}
	if after := f.lastPosition(); after != before {
		f.t.Fatalf("failed append moved the last position from %d to %d", before, after)
	}
	return detail
}

func (f *fixture) lastPosition() eventstore.Position {
	f.t.Helper()
	p, err := f.store.LastPosition(f.ctx)
	if err != nil {
		f.t.Fatalf("last position: %v", err)
	}
	return p
}

// readAll reads every event after position after that passes the filter,
// page by page.
func (f *fixture) readAll(after eventstore.Position, filter eventstore.Filter) []eventstore.RecordedEvent {
	f.t.Helper()
	var all []eventstore.RecordedEvent
	for {
		page, err := f.store.ReadAll(f.ctx, after, filter, pageSize)
		if err != nil {
			f.t.Fatalf("read all after %d: %v", after, err)
		}
		if len(page) > pageSize {
			f.t.Fatalf("read all returned %d events, max %d", len(page), pageSize)
		}
		all = append(all, page...)
		if len(page) < pageSize {
			return all
		}
		after = page[len(page)-1].Position
	}
}

func (f *fixture) readStream(stream string, from eventstore.Revision, dir eventstore.Direction, max int) []eventstore.RecordedEvent {
	f.t.Helper()
	evs, err := f.store.ReadStream(f.ctx, stream, from, dir, max)
	if err != nil {
		f.t.Fatalf("read %s from %d: %v", stream, from, err)
	}
	return evs
}

func idsOf[E any](evs []E, id func(E) uuid.UUID) []uuid.UUID {
	ids := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		ids[i] = id(e)
	}
	return ids
}

func recordedIDs(evs []eventstore.RecordedEvent) []uuid.UUID {
	return idsOf(evs, func(e eventstore.RecordedEvent) uuid.UUID { return e.ID })
}

func eventIDs(evs []eventstore.Event) []uuid.UUID {
	return idsOf(evs, func(e eventstore.Event) uuid.UUID { return e.ID })
}

func wantIDs(t *testing.T, what string, got []eventstore.RecordedEvent, want []uuid.UUID) {
	t.Helper()
	if g := recordedIDs(got); !slices.Equal(g, want) {
		t.Fatalf("%s: got %d events %v, want %d %v", what, len(g), g, len(want), want)
	}
}

// wantConsecutive checks that positions run from first, one by one.
func wantConsecutive(t *testing.T, what string, evs []eventstore.RecordedEvent, first eventstore.Position) {
	t.Helper()
	for i, ev := range evs {
		if want := first + eventstore.Position(i); ev.Position != want {
			t.Fatalf("%s: event %d at position %d, want %d", what, i, ev.Position, want)
		}
	}
}

// wantIncreasing checks that positions strictly increase.
func wantIncreasing(t *testing.T, what string, evs []eventstore.RecordedEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Position <= evs[i-1].Position {
			t.Fatalf("%s: position %d after %d", what, evs[i].Position, evs[i-1].Position)
		}
	}
}

// wantEvent checks every field the appender gave; RecordedAt, set by the
// store, must be set.
func wantEvent(t *testing.T, got eventstore.RecordedEvent, want eventstore.Event) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("id %s, want %s", got.ID, want.ID)
	}
	if got.Type != want.Type {
		t.Errorf("%s: type %q, want %q", want.ID, got.Type, want.Type)
	}
	if got.SchemaVersion != want.SchemaVersion {
		t.Errorf("%s: schema version %d, want %d", want.ID, got.SchemaVersion, want.SchemaVersion)
	}
	if !sameJSON(got.Data, want.Data) {
		t.Errorf("%s: data %s, want %s", want.ID, got.Data, want.Data)
	}
	gm, wm := got.Metadata, want.Metadata
	if !gm.OccurredAt.Equal(wm.OccurredAt) {
		t.Errorf("%s: occurred_at %s, want %s", want.ID, gm.OccurredAt, wm.OccurredAt)
	}
	if _, off := gm.OccurredAt.Zone(); !wm.OccurredAt.IsZero() && off != zoneOffset(wm.OccurredAt) {
		t.Errorf("%s: occurred_at zone offset %d, want %d", want.ID, off, zoneOffset(wm.OccurredAt))
	}
	if gm.RecordedAt.IsZero() {
		t.Errorf("%s: recorded_at not set", want.ID)
	}
	if !maps.Equal(gm.Extra, wm.Extra) {
		t.Errorf("%s: extra metadata %v, want %v", want.ID, gm.Extra, wm.Extra)
	}
	gm.OccurredAt, wm.OccurredAt, gm.RecordedAt, wm.RecordedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	gm.Extra, wm.Extra = nil, nil
	if !reflect.DeepEqual(gm, wm) {
		t.Errorf("%s: metadata %+v, want %+v", want.ID, gm, wm)
	}
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
