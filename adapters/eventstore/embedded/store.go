// Package embedded is the default event store: one bbolt file in the data
// directory, durable when an append returns, with group commit so that
// concurrent appenders share the cost of a sync.
//
// A single writer goroutine takes the appends waiting in a bounded queue,
// checks each one's expectation and writes all of them in one transaction,
// then replies to each. Readers and subscriptions use short read
// transactions, so they never hold up the writer.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"lifesituations/domain/eventstore"
)

// FileName is the store's file inside its directory.
const FileName = "events.db"

// Store is the embedded implementation of eventstore.Store.
type Store struct {
	db  *bolt.DB
	cfg config

	// mu guards the queue and closed.
	mu      sync.Mutex
	wake    *sync.Cond
	pending []*request
	queued  int // events pending or being committed
	closed  bool

	writerDone chan struct{}
	// closing is closed once the writer has stopped: reads and
	// subscriptions then return eventstore.ErrClosed.
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error

	// next is the position of the next event; owned by the writer, as is
	// arena.
	next  eventstore.Position
	arena arena
	// last is the last committed position, published after each commit.
	last    atomic.Uint64
	commits *notifier
	// stats counts commits and the events they wrote.
	stats struct{ commits, events atomic.Uint64 }
}

var _ eventstore.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      cfg.lockTimeout,
		FreelistType: bolt.FreelistMapType,
		// A mapping larger than the file lets the writer grow the file
		// without remapping, which would wait for every open reader.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	last, err := initDB(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}

	s := &Store{
		db:         db,
		cfg:        cfg,
		writerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		next:       last + 1,
		commits:    newNotifier(),
	}
	s.wake = sync.NewCond(&s.mu)
	s.last.Store(last)
	go s.runWriter()
	return s, nil
}

// initDB creates the buckets, checks the format and returns the last position.
func initDB(db *bolt.DB) (eventstore.Position, error) {
	var last eventstore.Position
	err := db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch f := meta.Get(keyFormat); {
		case f == nil:
			if err := meta.Put(keyFormat, []byte{storeFormat}); err != nil {
				return fmt.Errorf("write format: %w", err)
			}
		case len(f) != 1 || f[0] != storeFormat:
			return fmt.Errorf("unsupported store format %v (this build reads %d)", f, storeFormat)
		}
		k, _ := tx.Bucket(bucketLog).Cursor().Last()
		if k == nil {
			return nil
		}
		var err error
		last, err = u64(k)
		return err
	})
	return last, err
}

// LastPosition returns the position of the last committed event.
func (s *Store) LastPosition(ctx context.Context) (eventstore.Position, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	return s.last.Load(), nil
}

// Stats tells how well group commit works: transactions committed and
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
// subscriptions and closes the file. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.wake.Broadcast()
		s.mu.Unlock()
		<-s.writerDone
		close(s.closing)
		if err := s.db.Close(); err != nil {
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

// readErr maps the error of a read transaction: once the store is closed,
// bbolt says the database is not open.
func (s *Store) readErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) || errors.Is(err, berrors.ErrTxClosed) {
		return eventstore.ErrClosed
	}
	return err
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
