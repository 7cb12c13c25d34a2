// Package embedded is the default event store: one Pebble (LSM) database in
// the data directory, durable when an append returns, with group commit so
// that concurrent appenders share the cost of a sync. An LSM engine writes
// sequentially (WAL, then sorted runs), where a B+tree dirtied a page per
// index entry of every event.
//
// A single writer goroutine takes the appends waiting in a bounded queue,
// checks each one's expectation and writes all of them in one synced batch,
// then replies to each. Readers and subscriptions use short-lived iterators
// bounded by the last committed position, so they never hold up the writer
// and never see an event before it is durable.
//
// The log is tamper-evident: each record carries a SHA-256 hash chained to
// the previous record's (chain.go), which VerifyChain checks together with
// the indexes (verify.go).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"lifesituations/domain/eventstore"
)

// Store is the embedded implementation of eventstore.Store.
type Store struct {
	eng *engine
	cfg config
	// dbMu keeps Close from closing the database under a reader: Pebble
	// panics on use after close.
	dbMu sync.RWMutex

	// mu guards the queue and closed.
	mu      sync.Mutex
	wake    *sync.Cond
	pending []*request
	queued  int // events pending or being committed
	closed  bool

	writerDone chan struct{}
	// syncWanted asks the syncer (runSyncer) to sync the deferred appends
	// applied so far; syncerDone is closed once it has stopped.
	syncWanted chan struct{}
	syncerDone chan struct{}
	// closing is closed once the writer has stopped: reads and
	// subscriptions then return eventstore.ErrClosed.
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error

	// next is the position of the next event and chain the chain hash of
	// the one before it; owned by the writer, as are the planner and the
	// cache of stream heads.
	next  eventstore.Position
	chain chainHash
	plan  *planner
	heads headCache
	// tail holds the last committed events decoded, for subscriptions.
	tail *tailCache
	// last is the last durable position, published after each synced
	// commit: what ReadAll, SubscribeAll and LastPosition see. applied is
	// the last position written to Pebble, synced or not (deferred
	// appends, see eventstore.WithDeferredSync): what ReadStream sees.
	// unsyncedSince is when applied last went past last (the writer's).
	// last only grows (publish), set by the writer and the syncer.
	last          atomic.Uint64
	applied       atomic.Uint64
	unsyncedSince time.Time
	// syncErr is a failed sync of deferred appends: the log may have lost
	// them, so the store takes no append after it (under mu). Pebble ends
	// the process first (TestFailedSyncEndsTheProcess); this is the
	// store's own guard, should an engine return the error instead.
	syncErr error
	commits *notifier
	// stats counts commits and the events they wrote.
	stats struct{ commits, events atomic.Uint64 }
}

var _ eventstore.Store = (*Store)(nil)

// ErrReadOnly: an append to a store opened with ReadOnly.
var ErrReadOnly = errors.New("event store opened read only")

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	eng, err := openEngine(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	tail, err := eng.initFormat()
	if err != nil {
		_ = eng.close()
		return nil, fmt.Errorf("open event store in %s: %w", dir, err)
	}

	s := &Store{
		eng:        eng,
		cfg:        cfg,
		writerDone: make(chan struct{}),
		syncWanted: make(chan struct{}, 1),
		syncerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		next:       tail.pos + 1,
		chain:      tail.hash,
		plan:       newPlanner(),
		heads:      headCache{},
		tail:       newTailCache(cfg.tailEvents, cfg.tailBytes),
		commits:    newNotifier(),
	}
	s.wake = sync.NewCond(&s.mu)
	s.last.Store(tail.pos)
	s.applied.Store(tail.pos)
	go s.runWriter()
	go s.runSyncer()
	return s, nil
}

// LastPosition returns the position of the last committed event.
func (s *Store) LastPosition(ctx context.Context) (eventstore.Position, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	return s.last.Load(), nil
}

// Stats tells how well group commit works: synced batches committed and
// events written since Open. Events per commit well above 1 under
// concurrent appends means appenders share syncs.
type Stats struct {
	Commits uint64
	Events  uint64
}

// Stats returns the counts since Open.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.stats.commits.Load(), Events: s.stats.events.Load()}
}

// Close stops accepting appends, commits those already queued, ends the
// subscriptions and closes the database. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.wake.Broadcast()
		s.mu.Unlock()
		<-s.writerDone
		<-s.syncerDone
		close(s.closing)
		s.dbMu.Lock()
		defer s.dbMu.Unlock()
		if err := s.eng.close(); err != nil {
			s.closeErr = fmt.Errorf("close event store: %w", err)
		}
	})
	return s.closeErr
}

// usable returns the error a read must return before it starts.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
		return nil
	}
}

// view runs a read against the database unless the store is closed; Close
// waits for it to end.
func (s *Store) view(read func() error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
		return read()
	}
}

// notifier wakes the subscriptions after each commit: a channel closed and
// replaced per commit, so a waiter that took the channel before reading
// cannot miss a commit that happened after its read.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) fire() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
