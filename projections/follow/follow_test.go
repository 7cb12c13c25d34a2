package follow_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/follow"
)

func open(t *testing.T) eventstore.Store {
	t.Helper()
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func appendOne(t *testing.T, store eventstore.Store, stream string) eventstore.Position {
	t.Helper()
	res, err := store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "t", Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

func TestFollowsTheLogAndWakesWaiters(t *testing.T) {
	store := open(t)
	appendOne(t, store, "a")
	var mu sync.Mutex
	var seen []eventstore.Position
	l := follow.New("test", func(e eventstore.RecordedEvent) error {
		mu.Lock()
		seen = append(seen, e.Position)
		mu.Unlock()
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, store) }()

	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second) // a guard against a hang, not a measurement
	defer wcancel()
	waited := make(chan error, 1)
	go func() { waited <- l.WaitFor(wctx, 3) }() // before the events exist
	appendOne(t, store, "b")
	last := appendOne(t, store, "c")
	if err := <-waited; err != nil || l.Position() < last {
		t.Fatalf("wait: %v at %d", err, l.Position())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("a stop is clean: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != 1 || seen[2] != 3 {
		t.Errorf("seen %v", seen)
	}
	if err := l.WaitFor(context.Background(), 10); !errors.Is(err, follow.ErrNotRunning) {
		t.Errorf("waiting on a stopped follower: %v", err)
	}
}

func TestAFailingModelStopsAndSaysWhy(t *testing.T) {
	store := open(t)
	appendOne(t, store, "a")
	boom := errors.New("boom")
	l := follow.New("test", func(eventstore.RecordedEvent) error { return boom })
	if err := l.Run(context.Background(), store); !errors.Is(err, boom) {
		t.Fatalf("run: %v", err)
	}
	if err := l.WaitFor(context.Background(), 1); !errors.Is(err, boom) || !errors.Is(l.Err(), boom) {
		t.Errorf("wait: %v, err %v", err, l.Err())
	}
}
