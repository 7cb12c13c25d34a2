package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

func TestOverloaded(t *testing.T) {
	ctx := t.Context()
	release := make(chan struct{})
	s := openStore(t, t.TempDir(), WithQueueSize(8), holdWriter(release))

	var pending []<-chan error
	for i := range 6 {
		pending = append(pending, appendAsync(ctx, s, fmt.Sprintf("person-%d", i), eventstore.Any, testEvent(i)))
	}
	waitUntil(func() bool { return s.queuedEvents() == 6 })

	// 6 + 3 > 8: refused, at once, whole.
	if _, err := s.Append(ctx, "person-x", eventstore.Any, testEvent(1), testEvent(2), testEvent(3)); !errors.Is(err, eventstore.ErrOverloaded) {
		t.Fatalf("append of 3 with 6 of 8 queued: err = %v, want ErrOverloaded", err)
	}
	// 6 + 2 = 8: fits.
	pending = append(pending, appendAsync(ctx, s, "person-y", eventstore.Any, testEvent(1), testEvent(2)))
	waitUntil(func() bool { return s.queuedEvents() == 8 })

	if _, err := s.Append(ctx, "person-z", eventstore.Any, testEvent(0)); !errors.Is(err, eventstore.ErrOverloaded) {
		t.Fatalf("append to a full queue: err = %v, want ErrOverloaded", err)
	}
	_, err := s.AppendMany(ctx, []eventstore.StreamAppend{{Stream: "person-z", Expected: eventstore.Any, Events: []eventstore.Event{testEvent(0)}}})
	if !errors.Is(err, eventstore.ErrOverloaded) {
		t.Fatalf("append many to a full queue: err = %v, want ErrOverloaded", err)
	}

	close(release)
	for i, p := range pending {
		if err := <-p; err != nil {
			t.Fatalf("queued append %d: %v", i, err)
		}
	}
	if last, _ := s.LastPosition(ctx); last != 8 {
		t.Fatalf("last position %d, want 8: only the queued appends are written", last)
	}
	// Drained: an append larger than the whole queue is taken when alone.
	evs := make([]eventstore.Event, 20)
	for i := range evs {
		evs[i] = testEvent(i)
	}
	if _, err := s.Append(ctx, "person-big", eventstore.NoStream, evs...); err != nil {
		t.Fatalf("append of 20 to an empty queue of 8: %v", err)
	}
}

func TestCloseCommitsQueuedAppends(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	release := make(chan struct{})
	s, err := Open(dir, holdWriter(release))
	if err != nil {
		t.Fatal(err)
	}
	var pending []<-chan error
	for i := range 10 {
		pending = append(pending, appendAsync(ctx, s, fmt.Sprintf("person-%d", i), eventstore.NoStream, testEvent(i)))
	}
	waitUntil(func() bool { return s.queuedEvents() == 10 })

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	waitUntil(s.isClosed)
	if _, err := s.Append(ctx, "person-late", eventstore.Any, testEvent(0)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append while closing: err = %v, want ErrClosed", err)
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	for i, p := range pending {
		if err := <-p; err != nil {
			t.Fatalf("append queued before close %d: %v", i, err)
		}
	}
	if _, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 10); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after close: err = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s = openStore(t, dir)
	all, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 {
		t.Fatalf("after reopen the log holds %d events, want the 10 queued before close", len(all))
	}
}

func TestCanceledAppendIsNotWritten(t *testing.T) {
	release := make(chan struct{})
	s := openStore(t, t.TempDir(), holdWriter(release))
	ctx, cancel := context.WithCancel(t.Context())
	done := appendAsync(ctx, s, "person-1", eventstore.Any, testEvent(0))
	waitUntil(func() bool { return s.queuedEvents() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled append: err = %v, want context.Canceled", err)
	}
	close(release)
	// The writer skipped it: the next append is the first event.
	res, err := s.Append(t.Context(), "person-2", eventstore.Any, testEvent(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Position != 1 {
		t.Fatalf("next append at position %d, want 1", res.Position)
	}
}

// TestGroupCommit queues appends while the writer is held, then checks that
// they were committed in one transaction (the store reads its clock once per
// transaction, and this clock moves at every reading) and that each failed
// alone.
func TestGroupCommit(t *testing.T) {
	ctx := t.Context()
	var (
		mu  sync.Mutex
		now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	ticking := clock.Func(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	})
	release := make(chan struct{})
	s := openStore(t, t.TempDir(), WithClock(ticking), holdWriter(release))

	const ok = 40
	var good []<-chan error
	for i := range ok {
		good = append(good, appendAsync(ctx, s, fmt.Sprintf("person-%d", i), eventstore.NoStream, testEvent(i)))
	}
	stale := appendAsync(ctx, s, "person-stale", eventstore.Exact(3), testEvent(0))
	manyFailed := make(chan error, 1)
	go func() {
		_, err := s.AppendMany(ctx, []eventstore.StreamAppend{
			{Stream: "person-many", Expected: eventstore.NoStream, Events: []eventstore.Event{testEvent(0)}},
			{Stream: "person-stale", Expected: eventstore.StreamExists, Events: []eventstore.Event{testEvent(1)}},
		})
		manyFailed <- err
	}()
	// Two appenders race for one new stream: the first in the batch wins.
	race := []<-chan error{
		appendAsync(ctx, s, "person-race", eventstore.NoStream, testEvent(0)),
		appendAsync(ctx, s, "person-race", eventstore.NoStream, testEvent(1)),
	}
	waitUntil(func() bool { return s.queuedEvents() == ok+1+2+2 })
	close(release)

	for i, c := range good {
		if err := <-c; err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := <-stale; !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("stale append: err = %v, want ErrWrongExpectedRevision", err)
	}
	if err := <-manyFailed; !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("append many with a stale part: err = %v, want ErrWrongExpectedRevision", err)
	}
	raceErrs := []error{<-race[0], <-race[1]}
	if (raceErrs[0] == nil) == (raceErrs[1] == nil) {
		t.Fatalf("race for a new stream: errors %v, want exactly one winner", raceErrs)
	}

	all, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != ok+1 {
		t.Fatalf("log holds %d events, want %d", len(all), ok+1)
	}
	for _, ev := range all {
		if ev.Stream == "person-many" || ev.Stream == "person-stale" {
			t.Fatalf("failed append wrote %s at %d", ev.Stream, ev.Position)
		}
		if !ev.Metadata.RecordedAt.Equal(all[0].Metadata.RecordedAt) {
			t.Fatalf("event %d recorded at %s, event 1 at %s: not one transaction", ev.Position, ev.Metadata.RecordedAt, all[0].Metadata.RecordedAt)
		}
	}
}
