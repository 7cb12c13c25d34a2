package embedded

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

func openStore(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func testEvent(n int) eventstore.Event {
	data, _ := json.Marshal(map[string]int{"n": n})
	return eventstore.Event{
		ID:            uuid.New(),
		Type:          "person.moved",
		SchemaVersion: 1,
		Data:          data,
		Metadata:      eventstore.Metadata{OccurredAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
}

// holdWriter makes the writer wait before each batch until release is
// closed, so that tests can fill the queue.
func holdWriter(release <-chan struct{}) Option {
	return func(c *config) { c.beforeBatch = func() { <-release } }
}

func (s *Store) queuedEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// waitUntil polls a condition that other goroutines make true; no deadline
// but the test's own.
func waitUntil(cond func() bool) {
	for !cond() {
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// appendAsync appends in a goroutine; the result arrives on the channel.
func appendAsync(ctx context.Context, s *Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.Event) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, stream, exp, evs...)
		done <- err
	}()
	return done
}
