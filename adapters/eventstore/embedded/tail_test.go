package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"lifesituations/domain/eventstore"
)

// withTail bounds the tail of recent events kept for subscriptions.
func withTail(events, bytes int) Option {
	return func(c *config) { c.tailEvents, c.tailBytes = events, bytes }
}

func TestTailCacheKeepsTheLastEventsInOrder(t *testing.T) {
	tc := newTailCache(7, 1<<20)
	for pos := eventstore.Position(1); pos <= 20; pos++ {
		tc.push(&eventstore.RecordedEvent{Stream: fmt.Sprintf("s-%d", pos%3), Position: pos})
	}
	// Holds 14..20.
	for after := eventstore.Position(0); after <= 21; after++ {
		got, pos, ok := tc.read(nil, after, 20, &eventstore.Filter{}, 100)
		if want := after >= 13 && after <= 20; ok != want {
			t.Fatalf("read after %d: ok %v, want %v", after, ok, want)
		}
		if !ok {
			continue
		}
		if pos != 20 || len(got) != int(20-after) {
			t.Fatalf("read after %d: %d events up to %d, want %d up to 20", after, len(got), pos, 20-after)
		}
		for i, ev := range got {
			if ev.Position != after+1+uint64(i) {
				t.Fatalf("read after %d: event %d at %d", after, i, ev.Position)
			}
		}
	}
	// Bounded by the published position, by max and by the filter.
	if got, pos, _ := tc.read(nil, 14, 17, &eventstore.Filter{}, 100); len(got) != 3 || pos != 17 {
		t.Errorf("read up to 17: %d events up to %d", len(got), pos)
	}
	if got, pos, _ := tc.read(nil, 14, 20, &eventstore.Filter{}, 2); len(got) != 2 || pos != 16 {
		t.Errorf("read 2: %d events up to %d", len(got), pos)
	}
	got, pos, _ := tc.read(nil, 13, 20, &eventstore.Filter{StreamPrefixes: []string{"s-0"}}, 100)
	if pos != 20 || len(got) != 2 || got[0].Position != 15 || got[1].Position != 18 {
		t.Errorf("read s-0: %v up to %d", got, pos)
	}
}

func TestTailCacheBoundsBytes(t *testing.T) {
	var ev eventstore.RecordedEvent
	ev.Data = make([]byte, 1000)
	tc := newTailCache(100, 3*eventSize(&ev))
	for pos := eventstore.Position(1); pos <= 10; pos++ {
		ev.Position = pos
		tc.push(&ev)
	}
	if tc.n != 3 || tc.first != 8 || tc.bytes != 3*eventSize(&ev) {
		t.Errorf("holds %d events from %d, %d bytes", tc.n, tc.first, tc.bytes)
	}
}

// Subscriptions following the log while it grows get exactly what a read
// of the log gets, whether they take events from the tail, fall behind it
// (the tail is smaller than the log) or read the database.
func TestSubscriptionsFromTheTailDeliverTheLog(t *testing.T) {
	s := openStore(t, t.TempDir(), withTail(50, 1<<20))
	ctx := t.Context()
	end := testEvent(-1)
	end.Type = "person.moved.end"
	filters := []eventstore.Filter{
		{},
		{StreamPrefixes: []string{"person-1"}},
		{TypePrefixes: []string{"person.moved"}},
		{StreamPrefixes: []string{"person-2", "person-1"}, TypePrefixes: []string{"person.moved", "person.born"}},
	}
	lagging := make(chan struct{})
	type result struct {
		filter eventstore.Filter
		got    []eventstore.RecordedEvent
		err    error
	}
	results := make(chan result, 2*len(filters))
	var subs sync.WaitGroup
	subscribe := func(f eventstore.Filter, hold <-chan struct{}) {
		subs.Go(func() {
			var got []eventstore.RecordedEvent
			err := s.SubscribeAll(ctx, 0, f, func(ev eventstore.RecordedEvent) error {
				<-hold
				got = append(got, ev)
				if ev.ID == end.ID {
					return errCaughtUp
				}
				return nil
			})
			results <- result{f, got, err}
		})
	}
	open := make(chan struct{})
	close(open)
	for _, f := range filters {
		subscribe(f, open)
		subscribe(f, lagging) // held until the log is longer than the tail
	}

	var appenders sync.WaitGroup
	for g := range 8 {
		appenders.Go(func() {
			for i := range 40 {
				ev := testEvent(i)
				if i%3 == 0 {
					ev.Type = "person.born"
				}
				if _, err := s.Append(ctx, fmt.Sprintf("person-%d", g), eventstore.Any, ev); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	appenders.Wait()
	close(lagging)
	if _, err := s.Append(ctx, "person-1-end", eventstore.NoStream, end); err != nil {
		t.Fatalf("append the end: %v", err)
	}
	subs.Wait()
	close(results)

	for r := range results {
		if !errors.Is(r.err, errCaughtUp) {
			t.Errorf("filter %+v: subscription returned %v", r.filter, r.err)
			continue
		}
		want := scanAll(t, s, r.filter)
		if !reflect.DeepEqual(r.got, want) {
			t.Errorf("filter %+v: delivered %d events, the log has %d (or they differ)", r.filter, len(r.got), len(want))
		}
	}
	if s.tail.n == 0 {
		t.Errorf("the tail holds nothing")
	}
}

func TestTailFollowsRetriedCommits(t *testing.T) {
	// A batch whose events were all duplicates commits nothing: the tail
	// stays contiguous with the log.
	s := openStore(t, t.TempDir())
	ctx := t.Context()
	ev := testEvent(1)
	for range 2 {
		if _, err := s.Append(ctx, "person-1", eventstore.Any, ev); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if _, err := s.Append(ctx, "person-1", eventstore.Any, testEvent(2)); err != nil {
		t.Fatalf("append: %v", err)
	}
	got, pos, ok := s.tail.read(nil, 0, s.last.Load(), &eventstore.Filter{}, 10)
	if !ok || pos != 2 || len(got) != 2 || got[0].ID != ev.ID || got[1].Revision != 1 {
		t.Errorf("tail: %v up to %d (ok %v)", got, pos, ok)
	}
}

// scanAll reads the log from the database only.
func scanAll(t *testing.T, s *Store, f eventstore.Filter) []eventstore.RecordedEvent {
	t.Helper()
	var events []eventstore.RecordedEvent
	for after, atEnd := eventstore.Position(0), false; !atEnd; {
		var err error
		events, after, atEnd, err = s.scan(events, after, &f, len(events)+1000, nil)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
	}
	return events
}

func TestReadAllFromTheTailIsTheLog(t *testing.T) {
	s := openStore(t, t.TempDir(), withTail(20, 1<<20))
	ctx := t.Context()
	for i := range 50 {
		if _, err := s.Append(ctx, fmt.Sprintf("person-%d", i%4), eventstore.Any, testEvent(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	f := eventstore.Filter{StreamPrefixes: []string{"person-1", "person-3"}}
	all := scanAll(t, s, f)
	for after := eventstore.Position(0); after <= 50; after += 7 {
		got, err := s.ReadAll(ctx, after, f, 5)
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		var want []eventstore.RecordedEvent
		for _, ev := range all {
			if ev.Position > after && len(want) < 5 {
				want = append(want, ev)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read after %d: %d events, want %d (or they differ)", after, len(got), len(want))
		}
	}
}

// Scan lends, past a chunk's worth of records and up to its bound, the
// events ReadAll gives, of their metadata RecordedAt only; an error of its
// function stops it.
func TestScanLendsWhatReadAllGives(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := t.Context()
	const n = scanChunk + 100
	var batch []eventstore.StreamAppend
	for i := range n {
		batch = append(batch, eventstore.StreamAppend{Stream: fmt.Sprintf("person-%d", i%4), Expected: eventstore.Any,
			Events: []eventstore.Event{testEvent(i)}})
		if len(batch) == 1000 || i == n-1 {
			if _, err := s.AppendMany(ctx, batch); err != nil {
				t.Fatalf("append: %v", err)
			}
			batch = nil
		}
	}
	f := eventstore.Filter{StreamPrefixes: []string{"person-1", "person-3"}}
	for _, bound := range []struct{ after, upTo eventstore.Position }{{0, n}, {7, n - 3}, {0, n + 10}, {n, n}} {
		var want []eventstore.RecordedEvent
		for _, ev := range scanAll(t, s, f) {
			if ev.Position > bound.after && ev.Position <= bound.upTo {
				if ev.Metadata.RecordedAt.IsZero() || ev.Metadata.OccurredAt.IsZero() {
					t.Fatalf("position %d read back without its metadata: %+v", ev.Position, ev.Metadata)
				}
				ev.Metadata = eventstore.Metadata{RecordedAt: ev.Metadata.RecordedAt}
				want = append(want, ev)
			}
		}
		var got []eventstore.RecordedEvent
		err := s.Scan(ctx, bound.after, bound.upTo, f, func(ev *eventstore.RecordedEvent) error {
			kept := *ev
			kept.Data = bytes.Clone(ev.Data)
			got = append(got, kept)
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scan after %d up to %d: %d events, want %d (or they differ)", bound.after, bound.upTo, len(got), len(want))
		}
	}
	stop := errors.New("stop")
	seen := 0
	err := s.Scan(ctx, 0, n, eventstore.Filter{}, func(*eventstore.RecordedEvent) error {
		if seen++; seen == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 10 {
		t.Errorf("scan stopped by its function after %d events: %v", seen, err)
	}
}
