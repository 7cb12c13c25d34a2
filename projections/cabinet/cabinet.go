// Package cabinet is the citizen's read model: drafts, grants, situations
// and notifications folded from the situation streams of the global log
// into a bbolt file, with the checkpoint written in the same transactions
// as the rows, so that a restart neither loses nor doubles an event.
package cabinet

import (
	"context"
	"errors"
	"fmt"
	"lifesituations/projections/derived"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

var (
	// ErrNotFound: no such draft, grant or situation, or none the person
	// may see.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the cabinet has been closed.
	ErrClosed = errors.New("cabinet closed")
)

// Cabinet is the read model. Queries are safe for concurrent use with the
// fold.
type Cabinet struct {
	db   *bolt.DB
	path string

	family Family
	clock  clock.Clock

	// position is what has been folded; persisted may lag behind it by
	// events that are not about situations (see apply).
	position  atomic.Uint64
	persisted eventstore.Position
	running   atomic.Bool

	// mu guards changed and failed.
	mu sync.Mutex
	// changed is closed and replaced each time the position moves or Run
	// fails, waking WaitFor.
	changed chan struct{}
	// failed is why the last Run failed; nil while one runs or when it was
	// stopped by its context.
	failed error
	// waits counts the positions WaitFor callers are blocked on; waiting
	// tells Run that one more came, so that it commits what they need
	// rather than wait for a fuller batch.
	waits   map[eventstore.Position]int
	waiting chan struct{}

	closed    chan struct{}
	closeOnce sync.Once
}

// Option configures Open.
type Option func(*Cabinet)

// WithFamily lets parents see the grants of their children who are under
// 18 on the clock's date. Without it nobody sees another person's grants.
func WithFamily(f Family, c clock.Clock) Option {
	return func(cab *Cabinet) { cab.family, cab.clock = f, c }
}

// Open opens (creating if needed) the cabinet file at path. Its commits
// are not synced one by one; see projections/derived for why that is safe and
// when Open deletes the file to have it folded again.
func Open(path string, opts ...Option) (*Cabinet, error) {
	db, pos, err := derived.Open(path, openFile)
	if err != nil {
		return nil, fmt.Errorf("open cabinet %s: %w", path, err)
	}
	c := &Cabinet{db: db, path: path, persisted: pos, changed: make(chan struct{}), closed: make(chan struct{}),
		waits: map[eventstore.Position]int{}, waiting: make(chan struct{}, 1)}
	for _, o := range opts {
		o(c)
	}
	if (c.family == nil) != (c.clock == nil) {
		_ = c.Close()
		return nil, fmt.Errorf("open cabinet %s: a family needs a clock to tell minors", path)
	}
	c.position.Store(pos)
	return c, nil
}

// openFile opens the bbolt file with its buckets and reads the checkpoint.
func openFile(path string) (db *bolt.DB, pos eventstore.Position, err error) {
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      5 * time.Second,
		FreelistType: bolt.FreelistMapType,
		// Room to grow without remapping, which would wait for readers.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		// bbolt panics on pages it cannot make sense of: a torn file.
		if r := recover(); r != nil {
			err = fmt.Errorf("read file: %v", r)
		}
		if err != nil {
			_ = db.Close()
			db = nil
		}
	}()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		pos, err = checkpoint(tx)
		return err
	})
	return db, pos, err
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// reset empties the cabinet so that Run folds the log again from its start.
func (c *Cabinet) reset() error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				continue
			}
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("drop bucket %s: %w", name, err)
			}
		}
		return createBuckets(tx)
	})
	if err != nil {
		return fmt.Errorf("cabinet: empty for a new fold: %w", err)
	}
	c.persisted = 0
	c.position.Store(0)
	return nil
}

func checkpoint(tx *bolt.Tx) (eventstore.Position, error) {
	v := tx.Bucket(bucketMeta).Get(keyCheckpoint)
	if v == nil {
		return 0, nil
	}
	return decodePosition(v)
}

// Position is the log position the cabinet has folded up to.
func (c *Cabinet) Position() eventstore.Position { return c.position.Load() }

// WaitFor blocks until the cabinet has folded the log up to pos, ctx is
// done, or the cabinet is closed. It does not need Run to be running when
// called, but it fails when Run has stopped on an error.
func (c *Cabinet) WaitFor(ctx context.Context, pos eventstore.Position) error {
	if c.Position() >= pos {
		return nil
	}
	c.mu.Lock()
	c.waits[pos]++
	c.mu.Unlock()
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	defer func() {
		c.mu.Lock()
		if c.waits[pos]--; c.waits[pos] == 0 {
			delete(c.waits, pos)
		}
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		changed, failed := c.changed, c.failed
		c.mu.Unlock()
		if c.Position() >= pos {
			return nil
		}
		if failed != nil {
			return fmt.Errorf("cabinet failed at %d before reaching %d: %w", c.Position(), pos, failed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the cabinet to reach %d (at %d): %w", pos, c.Position(), ctx.Err())
		case <-c.closed:
			return ErrClosed
		}
	}
}

// awaited reports whether a WaitFor caller waits for a position at or
// before pos: committing up to pos would release it.
func (c *Cabinet) awaited(pos eventstore.Position) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.waits {
		if p <= pos {
			return true
		}
	}
	return false
}

// setFailed records why Run failed (nil when a Run starts) and wakes the
// waiters so that they do not wait for what will not come.
func (c *Cabinet) setFailed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = err
	c.wake()
}

// wake releases every WaitFor to look again; c.mu must be held.
func (c *Cabinet) wake() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// advance publishes a folded position.
func (c *Cabinet) advance(pos eventstore.Position) {
	if pos <= c.position.Load() {
		return
	}
	c.position.Store(pos)
	c.mu.Lock()
	c.wake()
	c.mu.Unlock()
}

// Close syncs and closes the file (and removes its marker, see
// durability.go). Stop Run (cancel its context) first; waiters are
// released with ErrClosed.
func (c *Cabinet) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		if cerr := derived.Close(c.db, c.path); cerr != nil {
			err = fmt.Errorf("close cabinet: %w", cerr)
		}
	})
	return err
}
