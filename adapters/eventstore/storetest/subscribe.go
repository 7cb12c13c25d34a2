package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// errStop is what the suite's handler returns to end a subscription.
var errStop = errors.New("storetest: stop subscription")

// subscription records what SubscribeAll delivers.
type subscription struct {
	mu      sync.Mutex
	events  []eventstore.RecordedEvent
	seen    map[uuid.UUID]bool
	waiters map[uuid.UUID]chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// subscribe starts SubscribeAll; its handler returns errStop once it has
// delivered stopAt (uuid.Nil: never).
func (f *fixture) subscribe(after eventstore.Position, filter eventstore.Filter, stopAt uuid.UUID) *subscription {
	ctx, cancel := context.WithCancel(f.ctx)
	s := &subscription{
		seen:    map[uuid.UUID]bool{},
		waiters: map[uuid.UUID]chan struct{}{},
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	store := f.store
	go func() {
		defer close(s.done)
		s.err = store.SubscribeAll(ctx, after, filter, func(ev eventstore.RecordedEvent) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.events = append(s.events, ev)
			s.seen[ev.ID] = true
			if w, ok := s.waiters[ev.ID]; ok {
				close(w)
				delete(s.waiters, ev.ID)
			}
			if ev.ID == stopAt {
				return errStop
			}
			return nil
		})
	}()
	f.t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// waitFor blocks until the event id has been delivered; it fails the test
// if the subscription ends first.
func (s *subscription) waitFor(t *testing.T, id uuid.UUID) {
	t.Helper()
	s.mu.Lock()
	if s.seen[id] {
		s.mu.Unlock()
		return
	}
	w, ok := s.waiters[id]
	if !ok {
		w = make(chan struct{})
		s.waiters[id] = w
	}
	s.mu.Unlock()
	select {
	case <-w:
	case <-s.done:
		s.mu.Lock()
		delivered := s.seen[id]
		s.mu.Unlock()
		if !delivered {
			t.Fatalf("subscription ended (%v) before delivering %s", s.err, id)
		}
	}
}

// wait waits for the subscription to end and returns what it delivered.
func (s *subscription) wait() ([]eventstore.RecordedEvent, error) {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events, s.err
}

// wantStopped waits for a subscription given a stopAt and checks that it
// returned the handler's error.
func wantStopped(t *testing.T, s *subscription) []eventstore.RecordedEvent {
	t.Helper()
	got, err := s.wait()
	if !errors.Is(err, errStop) {
		t.Fatalf("subscription returned %v, want the handler's error", err)
	}
	return got
}

// appendConcurrently appends n events of type typ, one by one, from each of
// the goroutines to stream(g), and returns them by goroutine.
func (f *fixture) appendConcurrently(goroutines, n int, stream func(g int) string, typ string) ([][]eventstore.Event, error) {
	out := make([][]eventstore.Event, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range n {
				ev := event(typ, i)
				if _, err := f.store.Append(f.ctx, stream(g), eventstore.Any, ev); err != nil {
					errs[g] = fmt.Errorf("goroutine %d append %d: %w", g, i, err)
					return
				}
				out[g] = append(out[g], ev)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func testSubscribeCatchUpThenLive(t *testing.T, f *fixture) {
	person := func(g int) string { return f.stream(fmt.Sprintf("person-%d", g)) }
	before, err := f.appendConcurrently(4, 10, person, "person.moved")
	if err != nil {
		t.Fatal(err)
	}
	sentinel := event("calendar.swept", 0)
	sub := f.subscribe(f.base, eventstore.Filter{}, sentinel.ID)

	// Appended while the subscription catches up.
	during, err := f.appendConcurrently(4, 10, person, "person.married")
	if err != nil {
		t.Fatal(err)
	}
	last := during[3][len(during[3])-1]
	sub.waitFor(t, last.ID)
	// Appended once it has caught up: delivered live.
	live, err := f.appendConcurrently(4, 10, person, "person.died")
	if err != nil {
		t.Fatal(err)
	}
	f.append(f.stream("calendar"), eventstore.Any, sentinel)

	got := wantStopped(t, sub)
	all := f.readAll(f.base, eventstore.Filter{})
	wantIDs(t, "delivered", got, recordedIDs(all))
	wantConsecutive(t, "delivered", got, f.base+1)
	if n := 3*4*10 + 1; len(got) != n {
		t.Fatalf("delivered %d events, want %d", len(got), n)
	}
	appended := byID(sentinel, before, during, live)
	for i, ev := range got {
		wantEvent(t, ev, appended[ev.ID])
		if ev.Stream != all[i].Stream || ev.Revision != all[i].Revision {
			t.Fatalf("delivered %s as %s@%d, log has %s@%d", ev.ID, ev.Stream, ev.Revision, all[i].Stream, all[i].Revision)
		}
	}
}

func byID(extra eventstore.Event, groups ...[][]eventstore.Event) map[uuid.UUID]eventstore.Event {
	m := map[uuid.UUID]eventstore.Event{extra.ID: extra}
	for _, g := range groups {
		for _, evs := range g {
			for _, ev := range evs {
				m[ev.ID] = ev
			}
		}
	}
	return m
}

func testSubscribeFilter(t *testing.T, f *fixture) {
	filter := eventstore.Filter{StreamPrefixes: []string{f.stream("person-")}, TypePrefixes: []string{"person.moved", "person.died"}}
	stream := func(g int) string {
		return f.stream([]string{"person-1", "person-2", "persons", "situation-1"}[g])
	}
	if _, err := f.appendConcurrently(4, 5, stream, "person.moved"); err != nil {
		t.Fatal(err)
	}
	sentinel := event("person.died", 0)
	sub := f.subscribe(f.base, filter, sentinel.ID)
	for _, typ := range []string{"person.married", "person.moved"} {
		if _, err := f.appendConcurrently(4, 5, stream, typ); err != nil {
			t.Fatal(err)
		}
	}
	f.append(f.stream("situation-1"), eventstore.Any, event("person.died", 1))
	f.append(f.stream("person-1"), eventstore.Any, sentinel)

	// What the filter selects, from the log read without one.
	var want []uuid.UUID
	for _, ev := range f.readAll(f.base, eventstore.Filter{}) {
		if filter.Match(ev.Stream, ev.Type) {
			want = append(want, ev.ID)
		}
	}
	if n := 2*2*5 + 1; len(want) != n {
		t.Fatalf("the filter selects %d events of the log, want %d", len(want), n)
	}
	got := wantStopped(t, sub)
	wantIDs(t, "delivered", got, want)
	wantIncreasing(t, "delivered", got)
}

func testSubscribeFromMiddle(t *testing.T, f *fixture) {
	evs := events("person.moved", 20)
	for i, ev := range evs {
		f.append(f.stream(fmt.Sprintf("person-%d", i%3)), eventstore.Any, ev)
	}
	sub := f.subscribe(f.base+7, eventstore.Filter{}, evs[19].ID)
	got := wantStopped(t, sub)
	wantIDs(t, "delivered", got, eventIDs(evs[7:]))
	wantConsecutive(t, "delivered", got, f.base+8)
}

func testSubscribeStops(t *testing.T, f *fixture) {
	ev := event("person.moved", 0)
	f.append(f.stream("person-1"), eventstore.Any, ev)

	t.Run("ContextDone", func(t *testing.T) {
		sub := f.subscribe(f.base, eventstore.Filter{}, uuid.Nil)
		sub.waitFor(t, ev.ID)
		sub.cancel()
		if _, err := sub.wait(); !errors.Is(err, context.Canceled) {
			t.Fatalf("subscription returned %v, want context.Canceled", err)
		}
	})
	t.Run("StoreClosed", func(t *testing.T) {
		sub := f.subscribe(f.base, eventstore.Filter{}, uuid.Nil)
		sub.waitFor(t, ev.ID)
		f.closeStore()
		if _, err := sub.wait(); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("subscription returned %v, want ErrClosed", err)
		}
	})
}
