package storetest

import (
	"errors"
	"testing"

	"lifesituations/domain/eventstore"
)

func testReopen(t *testing.T, f *fixture) {
	a, b := f.stream("person-1"), f.stream("situation-1")
	ea := events("person.moved", 3)
	f.append(a, eventstore.NoStream, ea...)
	eb := events("situation.started", 2)
	if _, err := f.store.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: b, Expected: eventstore.NoStream, Events: eb},
		{Stream: a, Expected: eventstore.Exact(2), Events: events("person.married", 1)},
	}); err != nil {
		t.Fatalf("append many: %v", err)
	}
	before := f.readAll(f.base, eventstore.Filter{})
	last := f.lastPosition()

	f.closeStore()
	if _, err := f.store.Append(f.ctx, a, eventstore.Any, event("person.moved", 9)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append after close: err = %v, want ErrClosed", err)
	}
	f.reopenStore()

	if got := f.lastPosition(); got != last {
		t.Fatalf("last position after reopen %d, want %d", got, last)
	}
	after := f.readAll(f.base, eventstore.Filter{})
	wantIDs(t, "log after reopen", after, recordedIDs(before))
	for i, ev := range after {
		wantEvent(t, ev, before[i].Event)
		if ev.Stream != before[i].Stream || ev.Revision != before[i].Revision || ev.Position != before[i].Position ||
			!ev.Metadata.RecordedAt.Equal(before[i].Metadata.RecordedAt) {
			t.Fatalf("event %s after reopen: %s@%d at %d recorded %s, before %s@%d at %d recorded %s", ev.ID,
				ev.Stream, ev.Revision, ev.Position, ev.Metadata.RecordedAt,
				before[i].Stream, before[i].Revision, before[i].Position, before[i].Metadata.RecordedAt)
		}
	}

	// Appends continue the stream and the log; ids stay known.
	res := f.append(a, eventstore.Exact(3), event("person.died", 0))
	if res.NextRevision != 4 || res.Position != last+1 {
		t.Fatalf("append after reopen: result %+v, want revision 4 at %d", res, last+1)
	}
	res = f.append(a, eventstore.NoStream, ea[0])
	if res.Duplicates != 1 || f.lastPosition() != last+1 {
		t.Fatalf("retry after reopen: result %+v, last position %d; want a duplicate, nothing written", res, f.lastPosition())
	}
}
