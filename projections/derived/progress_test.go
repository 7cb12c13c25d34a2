package derived

import (
	"context"
	"errors"
	"testing"
	"time"

	"lifesituations/domain/eventstore"
)

var errTestClosed = errors.New("test closed")

func TestWaitForReturnsOncePublished(t *testing.T) {
	p := NewProgress("test", 3, errTestClosed)
	if err := p.WaitFor(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.WaitFor(context.Background(), 7) }()
	<-p.waiting
	p.Publish(6)
	select {
	case err := <-done:
		t.Fatalf("WaitFor(7) returned at 6: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	p.Publish(7)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.Publish(5) // behind: changes nothing
	if got := p.Position(); got != 7 {
		t.Fatalf("position %d, want 7", got)
	}
}

func TestWaitForFailsOnFailureAndClose(t *testing.T) {
	p := NewProgress("test", 0, errTestClosed)
	boom := errors.New("boom")
	done := make(chan error, 1)
	go func() { done <- p.WaitFor(context.Background(), 1) }()
	<-p.waiting
	p.setFailed(boom)
	if err := <-done; !errors.Is(err, boom) {
		t.Fatalf("WaitFor after failure: %v", err)
	}
	p.setFailed(nil)
	go func() { done <- p.WaitFor(context.Background(), 1) }()
	<-p.waiting
	p.Close()
	p.Close()
	if err := <-done; !errors.Is(err, errTestClosed) {
		t.Fatalf("WaitFor after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.WaitFor(ctx, 1); !errors.Is(err, errTestClosed) && !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor with a done context: %v", err)
	}
}

func TestGatherClosesTheBatchForAWaiter(t *testing.T) {
	p := NewProgress("test", 0, errTestClosed)
	// Long enough to tell a batch that lingered from one ended at once,
	// even on a loaded machine.
	p.linger = 200 * time.Millisecond
	events := make(chan eventstore.RecordedEvent, 10)
	for pos := eventstore.Position(1); pos <= 3; pos++ {
		events <- eventstore.RecordedEvent{Position: pos}
	}
	linger := time.NewTimer(p.linger)
	linger.Stop()

	// Nobody waits: the batch takes what has arrived, then lingers.
	batch := []eventstore.RecordedEvent{<-events}
	began := time.Now()
	p.gather(events, &batch, linger)
	if len(batch) != 3 || time.Since(began) < p.linger {
		t.Fatalf("batch of %d after %v, want 3 after lingering", len(batch), time.Since(began))
	}

	// A waiter for a position the batch holds closes it at once.
	p.mu.Lock()
	p.waits[4]++
	p.mu.Unlock()
	events <- eventstore.RecordedEvent{Position: 4}
	batch = []eventstore.RecordedEvent{<-events}
	began = time.Now()
	p.gather(events, &batch, linger)
	if len(batch) != 1 || time.Since(began) >= p.linger {
		t.Fatalf("batch of %d after %v, want 1 at once", len(batch), time.Since(began))
	}

	// A waiter coming while the batch lingers closes it once its position
	// arrives.
	p.mu.Lock()
	delete(p.waits, 4)
	p.mu.Unlock()
	events <- eventstore.RecordedEvent{Position: 5}
	batch = []eventstore.RecordedEvent{<-events}
	go func() {
		time.Sleep(5 * time.Millisecond)
		p.mu.Lock()
		p.waits[6]++
		p.mu.Unlock()
		p.waiting <- struct{}{}
		events <- eventstore.RecordedEvent{Position: 6}
	}()
	began = time.Now()
	p.gather(events, &batch, linger)
	if len(batch) != 2 || batch[1].Position != 6 || time.Since(began) >= p.linger {
		t.Fatalf("batch of %d after %v, want 2 before the linger ran out", len(batch), time.Since(began))
	}
}
