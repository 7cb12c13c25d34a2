// Package follow runs an in-memory read model on the global log: it hands
// every event to the model, from the start of the log and then live, in log
// order, and tells how far the model has got so that a reader can wait for
// it to reach a position (what a request that must see its own writes, or
// everything stored when it came, needs).
//
// A model folded in memory is rebuilt from the log at each start, as the
// timers' index is; it keeps no file and no checkpoint.
package follow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"lifesituations/domain/eventstore"
)

// ErrNotRunning: the log is not being followed (Run has stopped or never
// started), so a wait would not end.
var ErrNotRunning = errors.New("not following the log")

// Log follows the global log for one model.
type Log struct {
	name  string
	apply func(eventstore.RecordedEvent) error

	position atomic.Uint64
	running  atomic.Bool
	// waiting counts the WaitFor calls in progress: an advance wakes them
	// only when there are some, so that catching up costs no lock per event.
	waiting atomic.Int32

	mu      sync.Mutex
	changed chan struct{}
	failed  error
	stopped bool
}

// New returns a follower that hands each event to apply, from Run's
// goroutine only. name says which model in errors.
func New(name string, apply func(eventstore.RecordedEvent) error) *Log {
	return &Log{name: name, apply: apply, changed: make(chan struct{})}
}

// Run follows the log from where the model is (the start of the log at
// first) until ctx is done (it then returns nil) or apply or the store
// fails. Only one Run may be active at a time.
func (l *Log) Run(ctx context.Context, store eventstore.Store) error {
	if !l.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: already running", l.name)
	}
	defer l.running.Store(false)
	l.setState(nil, false)
	err := store.SubscribeAll(ctx, l.Position(), eventstore.Filter{}, func(e eventstore.RecordedEvent) error {
		if err := l.apply(e); err != nil {
			return fmt.Errorf("%s: fold %s %s at position %d: %w", l.name, e.Type, e.ID, e.Position, err)
		}
		l.advance(e.Position)
		return nil
	})
	if ctx.Err() != nil {
		l.setState(nil, true)
		return nil
	}
	if err == nil {
		err = errors.New("the subscription ended")
	}
	l.setState(err, true)
	return err
}

// Position is the last log position the model has folded.
func (l *Log) Position() eventstore.Position { return l.position.Load() }

// Err is why the last Run failed; nil while one runs or after a clean stop.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// WaitFor blocks until the model has folded the log up to pos, ctx is done,
// or Run stops (ErrNotRunning, or why it failed).
func (l *Log) WaitFor(ctx context.Context, pos eventstore.Position) error {
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	for {
		l.mu.Lock()
		changed, failed, stopped := l.changed, l.failed, l.stopped
		l.mu.Unlock()
		if l.Position() >= pos {
			return nil
		}
		switch {
		case failed != nil:
			return fmt.Errorf("%s failed at %d before reaching %d: %w", l.name, l.Position(), pos, failed)
		case stopped:
			return fmt.Errorf("%s at %d, waiting for %d: %w", l.name, l.Position(), pos, ErrNotRunning)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to reach %d (at %d): %w", l.name, pos, l.Position(), ctx.Err())
		}
	}
}

func (l *Log) advance(pos eventstore.Position) {
	l.position.Store(pos)
	if l.waiting.Load() > 0 {
		l.mu.Lock()
		l.wake()
		l.mu.Unlock()
	}
}

func (l *Log) setState(failed error, stopped bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed, l.stopped = failed, stopped
	l.wake()
}

// wake releases every WaitFor to look again; l.mu must be held.
func (l *Log) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}
