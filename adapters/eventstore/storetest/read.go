package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

func testReadStream(t *testing.T, f *fixture) {
	s := f.stream("person-1")
	evs := events("person.moved", 10)
	f.append(f.stream("other"), eventstore.Any, event("person.moved", 99))
	f.append(s, eventstore.NoStream, evs[:4]...)
	f.append(f.stream("other"), eventstore.Any, event("person.moved", 98))
	f.append(s, eventstore.Exact(3), evs[4:]...)
	ids := eventIDs(evs)

	positions := map[uuid.UUID]eventstore.Position{}
	for _, ev := range f.readAll(f.base, eventstore.Filter{}) {
		positions[ev.ID] = ev.Position
	}
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)

	for _, tc := range []struct {
		name string
		from eventstore.Revision
		dir  eventstore.Direction
		max  int
		want []uuid.UUID
	}{
		{"Forwards", 0, eventstore.Forwards, 100, ids},
		{"ForwardsFromRevision", 3, eventstore.Forwards, 4, ids[3:7]},
		{"ForwardsToEnd", 7, eventstore.Forwards, 100, ids[7:]},
		{"ForwardsPastEnd", 10, eventstore.Forwards, 100, nil},
		{"Backwards", 9, eventstore.Backwards, 100, reversed},
		{"BackwardsFromRevision", 6, eventstore.Backwards, 3, reversed[3:6]},
		{"BackwardsToStart", 2, eventstore.Backwards, 100, reversed[7:]},
		// From past the end, backwards starts at the last event: how a
		// caller reads a stream's last events without knowing its revision.
		{"BackwardsFromEnd", math.MaxUint64, eventstore.Backwards, 2, reversed[:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f.readStream(s, tc.from, tc.dir, tc.max)
			wantIDs(t, "read", got, tc.want)
			for _, ev := range got {
				if ev.Stream != s || positions[ev.ID] != ev.Position || ev.ID != ids[ev.Revision] {
					t.Fatalf("event %s: stream %q revision %d position %d; log has it at %d", ev.ID, ev.Stream, ev.Revision, ev.Position, positions[ev.ID])
				}
			}
		})
	}

	t.Run("NotFound", func(t *testing.T) {
		for _, dir := range []eventstore.Direction{eventstore.Forwards, eventstore.Backwards} {
			if _, err := f.store.ReadStream(f.ctx, f.stream("missing"), 0, dir, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Fatalf("read missing stream (direction %d): err = %v, want ErrStreamNotFound", dir, err)
			}
		}
	})
}

func testReadAllFilter(t *testing.T, f *fixture) {
	type entry struct {
		stream string
		ev     eventstore.Event
	}
	var log []entry
	add := func(stream, typ string, n int) {
		ev := event(typ, n)
		f.append(f.stream(stream), eventstore.Any, ev)
		log = append(log, entry{f.stream(stream), ev})
	}
	for i := range 3 {
		add("person-1", "person.born", i)
		add("person-2", "person.moved", i)
		add("situation-1", "situation.started", i)
		add("catalogue", "catalogue.published", i)
		add("persons-index", "index.rebuilt", i)
	}
	selected := func(keep func(entry) bool) []uuid.UUID {
		var ids []uuid.UUID
		for _, e := range log {
			if keep(e) {
				ids = append(ids, e.ev.ID)
			}
		}
		return ids
	}
	person := f.stream("person-")

	for _, tc := range []struct {
		name   string
		filter eventstore.Filter
		want   []uuid.UUID
	}{
		{"Everything", eventstore.Filter{}, selected(func(entry) bool { return true })},
		{"StreamPrefix", eventstore.Filter{StreamPrefixes: []string{person}},
			selected(func(e entry) bool { return e.ev.Type == "person.born" || e.ev.Type == "person.moved" })},
		{"StreamPrefixes", eventstore.Filter{StreamPrefixes: []string{f.stream("situation-"), f.stream("catalogue")}},
			selected(func(e entry) bool { return e.ev.Type == "situation.started" || e.ev.Type == "catalogue.published" })},
		{"TypePrefix", eventstore.Filter{TypePrefixes: []string{"person."}},
			selected(func(e entry) bool { return e.ev.Type == "person.born" || e.ev.Type == "person.moved" })},
		{"StreamAndType", eventstore.Filter{StreamPrefixes: []string{person}, TypePrefixes: []string{"person.moved", "situation."}},
			selected(func(e entry) bool { return e.ev.Type == "person.moved" })},
		{"NothingMatches", eventstore.Filter{TypePrefixes: []string{"nothing."}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f.readAll(f.base, tc.filter)
			wantIDs(t, "read all", got, tc.want)
			wantIncreasing(t, "read all", got)

			// Page through with a small max: the same events.
			var paged []eventstore.RecordedEvent
			after := f.base
			for {
				page, err := f.store.ReadAll(f.ctx, after, tc.filter, 2)
				if err != nil {
					t.Fatalf("read all after %d: %v", after, err)
				}
				if len(page) > 2 {
					t.Fatalf("read all with max 2 returned %d events", len(page))
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				after = page[len(page)-1].Position
			}
			wantIDs(t, "paged read all", paged, tc.want)
		})
	}
}
