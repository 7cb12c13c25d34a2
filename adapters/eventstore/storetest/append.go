package storetest

import (
	"errors"
	"slices"
	"testing"

	"lifesituations/domain/eventstore"
)

func testRoundTrip(t *testing.T, f *fixture) {
	stream := f.stream("person-1")
	evs := []eventstore.Event{event("person.registered", 0), event("person.moved", 1), event("person.married", 2)}
	evs[2].SchemaVersion = 7

	res := f.append(stream, eventstore.NoStream, evs...)
	if want := (eventstore.AppendResult{NextRevision: 2, Position: f.base + 3}); res != want {
		t.Fatalf("append result %+v, want %+v", res, want)
	}

	check := func(what string, got []eventstore.RecordedEvent) {
		t.Helper()
		wantIDs(t, what, got, eventIDs(evs))
		for i, g := range got {
			wantEvent(t, g, evs[i])
			if g.Stream != stream {
				t.Errorf("%s: event %d in stream %q, want %q", what, i, g.Stream, stream)
			}
			if g.Revision != eventstore.Revision(i) {
				t.Errorf("%s: event %d at revision %d", what, i, g.Revision)
			}
		}
		wantConsecutive(t, what, got, f.base+1)
	}
	check("read stream", f.readStream(stream, 0, eventstore.Forwards, 10))
	check("read all", f.readAll(f.base, eventstore.Filter{}))
	if last := f.lastPosition(); last != f.base+3 {
		t.Fatalf("last position %d, want %d", last, f.base+3)
	}
}

func testInvalidStream(t *testing.T, f *fixture) {
	if _, err := f.store.Append(f.ctx, "", eventstore.Any, event("person.registered", 0)); err == nil {
		t.Fatal("append to an empty stream name succeeded")
	}
	if last := f.lastPosition(); last != f.base {
		t.Fatalf("invalid append moved the last position to %d from %d", last, f.base)
	}
}

func testExpectedRevision(t *testing.T, f *fixture) {
	t.Run("NoStream", func(t *testing.T) {
		s := f.stream("no-stream")
		f.append(s, eventstore.NoStream, event("person.registered", 0))
		c := f.appendConflict(s, eventstore.NoStream, event("person.moved", 1))
		if !c.Exists || c.Actual != 0 {
			t.Errorf("conflict says exists=%v actual=%d, want exists at 0", c.Exists, c.Actual)
		}
		if n := len(f.readStream(s, 0, eventstore.Forwards, 10)); n != 1 {
			t.Fatalf("stream holds %d events, want 1", n)
		}
	})
	t.Run("StreamExists", func(t *testing.T) {
		s := f.stream("exists")
		c := f.appendConflict(s, eventstore.StreamExists, event("person.moved", 0))
		if c.Exists {
			t.Errorf("conflict says the missing stream exists")
		}
		if _, err := f.store.ReadStream(f.ctx, s, 0, eventstore.Forwards, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("read after failed append: err = %v, want ErrStreamNotFound", err)
		}
		f.append(s, eventstore.Any, event("person.registered", 1))
		if res := f.append(s, eventstore.StreamExists, event("person.moved", 2)); res.NextRevision != 1 {
			t.Fatalf("next revision %d, want 1", res.NextRevision)
		}
	})
	t.Run("Exact", func(t *testing.T) {
		s := f.stream("exact")
		f.appendConflict(s, eventstore.Exact(0), event("person.registered", 0))
		f.append(s, eventstore.NoStream, event("person.registered", 1))
		if res := f.append(s, eventstore.Exact(0), event("person.moved", 2)); res.NextRevision != 1 {
			t.Fatalf("next revision %d, want 1", res.NextRevision)
		}
		c := f.appendConflict(s, eventstore.Exact(0), event("person.moved", 3))
		if !c.Exists || c.Actual != 1 {
			t.Errorf("conflict says exists=%v actual=%d, want exists at 1", c.Exists, c.Actual)
		}
		f.appendConflict(s, eventstore.Exact(2), event("person.moved", 4))
		if res := f.append(s, eventstore.Exact(1), event("person.moved", 5)); res.NextRevision != 2 {
			t.Fatalf("next revision %d, want 2", res.NextRevision)
		}
	})
	t.Run("Any", func(t *testing.T) {
		s := f.stream("any")
		for i := range 3 {
			if res := f.append(s, eventstore.Any, event("person.moved", i)); res.NextRevision != eventstore.Revision(i) {
				t.Fatalf("append %d: next revision %d", i, res.NextRevision)
			}
		}
	})
}

func testIdempotency(t *testing.T, f *fixture) {
	s := f.stream("person-1")
	e := events("person.moved", 4)

	first := f.append(s, eventstore.NoStream, e[0], e[1])
	for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream, eventstore.Exact(7), eventstore.Any} {
		res := f.append(s, exp, e[0], e[1])
		if want := (eventstore.AppendResult{NextRevision: first.NextRevision, Position: first.Position, Duplicates: 2}); res != want {
			t.Fatalf("retry expecting %s: result %+v, want %+v", exp, res, want)
		}
	}
	if last := f.lastPosition(); last != f.base+2 {
		t.Fatalf("retries moved the last position to %d, want %d", last, f.base+2)
	}

	// Old and new: only the new one is written.
	res := f.append(s, eventstore.Any, e[1], e[2])
	if want := (eventstore.AppendResult{NextRevision: 2, Position: f.base + 3, Duplicates: 1}); res != want {
		t.Fatalf("mixed append: result %+v, want %+v", res, want)
	}
	// Old and new with a wrong expectation: a conflict, nothing written.
	f.appendConflict(s, eventstore.Exact(0), e[2], e[3])

	wantIDs(t, "stream", f.readStream(s, 0, eventstore.Forwards, 10), eventIDs(e[:3]))
	wantIDs(t, "log", f.readAll(f.base, eventstore.Filter{}), eventIDs(e[:3]))
}

func testGlobalOrder(t *testing.T, f *fixture) {
	streams := []string{f.stream("person-1"), f.stream("person-2"), f.stream("situation-1")}
	var want []eventstore.Event
	next := map[string]eventstore.Revision{}
	for i := range 12 {
		s := streams[i%len(streams)]
		evs := events("person.moved", 1+i%3)
		res := f.append(s, eventstore.Any, evs...)
		want = append(want, evs...)
		if res.Position != f.base+eventstore.Position(len(want)) {
			t.Fatalf("append %d: position %d, want %d", i, res.Position, f.base+eventstore.Position(len(want)))
		}
		next[s] += eventstore.Revision(len(evs))
		if res.NextRevision != next[s]-1 {
			t.Fatalf("append %d: next revision %d, want %d", i, res.NextRevision, next[s]-1)
		}
	}

	all := f.readAll(f.base, eventstore.Filter{})
	wantIDs(t, "log", all, eventIDs(want))
	wantConsecutive(t, "log", all, f.base+1)
	seen := map[string]eventstore.Revision{}
	for _, ev := range all {
		if ev.Revision != seen[ev.Stream] {
			t.Fatalf("position %d: %s revision %d, want %d", ev.Position, ev.Stream, ev.Revision, seen[ev.Stream])
		}
		seen[ev.Stream]++
	}
	if last := f.lastPosition(); last != f.base+eventstore.Position(len(want)) {
		t.Fatalf("last position %d, want %d", last, f.base+eventstore.Position(len(want)))
	}

	page, err := f.store.ReadAll(f.ctx, f.base+5, eventstore.Filter{}, 7)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	wantIDs(t, "page after 5", page, eventIDs(want[5:12]))
}

func (s *suite) testAppendMany(t *testing.T, f *fixture) {
	a, b, c := f.stream("person-1"), f.stream("situation-1"), f.stream("catalogue")
	f.append(c, eventstore.NoStream, event("catalogue.published", 0))
	ea, eb, ec := events("person.born", 2), events("situation.started", 3), events("catalogue.published", 1)
	req := []eventstore.StreamAppend{
		{Stream: a, Expected: eventstore.NoStream, Events: ea},
		{Stream: b, Expected: eventstore.Any, Events: eb},
		{Stream: c, Expected: eventstore.Exact(0), Events: ec},
	}
	res, err := f.store.AppendMany(f.ctx, req)
	if err != nil {
		t.Fatalf("append many: %v", err)
	}
	want := []eventstore.AppendResult{
		{NextRevision: 1, Position: f.base + 3},
		{NextRevision: 2, Position: f.base + 6},
		{NextRevision: 1, Position: f.base + 7},
	}
	if !slices.Equal(res, want) {
		t.Fatalf("append many: results %+v, want %+v", res, want)
	}
	all := f.readAll(f.base+1, eventstore.Filter{})
	wantIDs(t, "log", all, eventIDs(slices.Concat(ea, eb, ec)))
	wantConsecutive(t, "log", all, f.base+2)

	// The same request again is a no-op.
	res, err = f.store.AppendMany(f.ctx, req)
	if err != nil {
		t.Fatalf("append many again: %v", err)
	}
	for i, r := range res {
		if r.Duplicates != len(req[i].Events) || r.Position != want[i].Position {
			t.Fatalf("append many again: result %d %+v, want %d duplicates at %d", i, r, len(req[i].Events), want[i].Position)
		}
	}

	t.Run("FailedExpectationWritesNothing", func(t *testing.T) {
		fresh := f.stream("person-2")
		good := eventstore.StreamAppend{Stream: fresh, Expected: eventstore.NoStream, Events: events("person.born", 2)}
		bad := eventstore.StreamAppend{Stream: b, Expected: eventstore.Exact(0), Events: events("situation.step", 1)}
		orders := [][]eventstore.StreamAppend{{bad, good}, {good, bad}}
		if s.appendManyInOrder {
			orders = orders[:1]
		}
		for _, req := range orders {
			before := f.lastPosition()
			_, err := f.store.AppendMany(f.ctx, req)
			if !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
				t.Fatalf("append many with a stale expectation: err = %v, want ErrWrongExpectedRevision", err)
			}
			if last := f.lastPosition(); last != before {
				t.Fatalf("failed append many moved the last position from %d to %d", before, last)
			}
			if _, err := f.store.ReadStream(f.ctx, fresh, 0, eventstore.Forwards, 10); !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Fatalf("stream of the good part after failed append many: err = %v, want ErrStreamNotFound", err)
			}
		}
	})
}
