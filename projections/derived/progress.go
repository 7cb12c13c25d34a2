package derived

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"lifesituations/domain/eventstore"
)

// Progress is how far a read model has folded the log, told to those that
// wait for it: the position a read model publishes once readers see it
// (merged into its pending writes, see Pending), the positions WaitFor
// callers are blocked on (so that Run folds what they need rather than
// wait for a fuller batch), why the last Run failed, and whether the read
// model is closed. Its methods are safe for concurrent use.
type Progress struct {
	// name prefixes errors: "cabinet", "register".
	name      string
	errClosed error

	position atomic.Uint64
	running  atomic.Bool

	// mu guards changed, failed and waits.
	mu sync.Mutex
	// changed is closed and replaced each time the position moves or Run
	// fails, waking WaitFor.
	changed chan struct{}
	// failed is why the last Run failed; nil while one runs or when it was
	// stopped by its context.
	failed error
	// waits counts the positions WaitFor callers are blocked on; waiting
	// tells Run that one more came, so that it folds what they need
	// rather than wait for a fuller batch.
	waits   map[eventstore.Position]int
	waiting chan struct{}
	// linger is MaxLinger; tests lengthen it to see what ends a batch.
	linger time.Duration

	closed    chan struct{}
	closeOnce sync.Once
}

// NewProgress starts a read model's progress at pos, its checkpoint. name
// prefixes its errors; errClosed is what WaitFor returns once it is closed.
func NewProgress(name string, pos eventstore.Position, errClosed error) *Progress {
	p := &Progress{name: name, errClosed: errClosed, changed: make(chan struct{}),
		waits: map[eventstore.Position]int{}, waiting: make(chan struct{}, 1), closed: make(chan struct{}), linger: MaxLinger}
	p.position.Store(pos)
	return p
}

// Position is the log position the read model has folded up to.
func (p *Progress) Position() eventstore.Position { return p.position.Load() }

// WaitFor blocks until the read model has published pos, ctx is done, or
// it is closed. It does not need Run to be running when called (the server
// may start them in any order), but it fails when Run has stopped on an
// error.
func (p *Progress) WaitFor(ctx context.Context, pos eventstore.Position) error {
	if p.Position() >= pos {
		return nil
	}
	p.mu.Lock()
	p.waits[pos]++
	p.mu.Unlock()
	select {
	case p.waiting <- struct{}{}:
	default:
	}
	defer func() {
		p.mu.Lock()
		if p.waits[pos]--; p.waits[pos] == 0 {
			delete(p.waits, pos)
		}
		p.mu.Unlock()
	}()
	for {
		p.mu.Lock()
		changed, failed := p.changed, p.failed
		p.mu.Unlock()
		if p.Position() >= pos {
			return nil
		}
		if failed != nil {
			return fmt.Errorf("%s failed at %d before reaching %d: %w", p.name, p.Position(), pos, failed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the %s to reach %d (at %d): %w", p.name, pos, p.Position(), ctx.Err())
		case <-p.closed:
			return p.errClosed
		}
	}
}

// awaited reports whether a WaitFor caller waits for a position at or
// before pos: folding up to pos would release it.
func (p *Progress) awaited(pos eventstore.Position) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for w := range p.waits {
		if w <= pos {
			return true
		}
	}
	return false
}

// setFailed records why Run failed (nil when a Run starts) and wakes the
// waiters so that they do not wait for what will not come.
func (p *Progress) setFailed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed = err
	p.wake()
}

// wake releases every WaitFor to look again; p.mu must be held.
func (p *Progress) wake() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Publish makes a folded position visible to Position and WaitFor. A
// position at or before the current one changes nothing.
func (p *Progress) Publish(pos eventstore.Position) {
	for {
		cur := p.position.Load()
		if pos <= cur {
			return
		}
		if p.position.CompareAndSwap(cur, pos) {
			p.mu.Lock()
			p.wake()
			p.mu.Unlock()
			return
		}
	}
}

// Rewind sets the position back to the start of the log, once the read
// model has been emptied to fold it again.
func (p *Progress) Rewind() { p.position.Store(0) }

// Close releases the waiters with the read model's closed error; later
// calls do nothing.
func (p *Progress) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
}
