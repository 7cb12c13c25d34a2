package register

import (
	"context"
	"errors"
	"fmt"
	"lifesituations/projections/derived"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// ErrClosed: the projection has been closed.
var ErrClosed = errors.New("register projection closed")

// Projection is the register of persons folded from the global log into a
// bbolt file: the facts decisions read, a birthday index for the calendar,
// and the checkpoint, all written in the same transactions so that a
// restart neither loses nor doubles an event. Reads are safe for concurrent
// use with the fold.
type Projection struct {
	db   *bolt.DB
	path string

	position atomic.Uint64
	running  atomic.Bool

	// mu guards changed and failed.
	mu sync.Mutex
	// changed is closed and replaced each time the checkpoint moves or Run
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

// OpenProjection opens (creating if needed) the register file at path. Its
// commits are not synced one by one; see projections/derived for why that is
// safe and when it deletes the file to have it folded again.
func OpenProjection(path string) (*Projection, error) {
	db, pos, err := derived.Open(path, openFile)
	if err != nil {
		return nil, fmt.Errorf("open register %s: %w", path, err)
	}
	p := &Projection{db: db, path: path, changed: make(chan struct{}), closed: make(chan struct{}),
		waits: map[eventstore.Position]int{}, waiting: make(chan struct{}, 1)}
	p.position.Store(pos)
	return p, nil
}

// openFile opens the bbolt file in the current layout and reads the
// checkpoint.
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
		if err := upgrade(tx); err != nil {
			return err
		}
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

// reset empties the register so that Run folds the log again from its
// start.
func (p *Projection) reset() error {
	err := p.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				continue
			}
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("drop bucket %s: %w", name, err)
			}
		}
		if err := upgrade(tx); err != nil {
			return err
		}
		return createBuckets(tx)
	})
	if err != nil {
		return fmt.Errorf("register: empty for a new fold: %w", err)
	}
	p.position.Store(0)
	return nil
}

// schemaVersion is the layout of the file's rows and indexes. A file of
// another layout (or of none: before the drafts and standing indexes) is
// emptied and folded again from the log, which it is derived from.
const schemaVersion = "2"

func upgrade(tx *bolt.Tx) error {
	if meta := tx.Bucket(bucketMeta); meta != nil && string(meta.Get(keySchema)) == schemaVersion {
		return nil
	}
	fresh := tx.Bucket(bucketMeta) == nil
	if !fresh {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				continue
			}
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("drop bucket %s: %w", name, err)
			}
		}
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketMeta, err)
	}
	return meta.Put(keySchema, []byte(schemaVersion))
}

func checkpoint(tx *bolt.Tx) (eventstore.Position, error) {
	v := tx.Bucket(bucketMeta).Get(keyCheckpoint)
	if v == nil {
		return 0, nil
	}
	return decodePosition(v)
}

// Position is the log position the register has folded up to.
func (p *Projection) Position() eventstore.Position { return p.position.Load() }

// WaitFor blocks until the register has folded the log up to pos, ctx is
// done, or the projection is closed. It does not need Run to be running
// when called (the server may start them in any order), but it fails when
// Run has stopped on an error.
func (p *Projection) WaitFor(ctx context.Context, pos eventstore.Position) error {
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
			return fmt.Errorf("register failed at %d before reaching %d: %w", p.Position(), pos, failed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the register to reach %d (at %d): %w", pos, p.Position(), ctx.Err())
		case <-p.closed:
			return ErrClosed
		}
	}
}

// awaited reports whether a WaitFor caller waits for a position at or
// before pos: committing up to pos would release it.
func (p *Projection) awaited(pos eventstore.Position) bool {
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
func (p *Projection) setFailed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed = err
	p.wake()
}

// wake releases every WaitFor to look again; p.mu must be held.
func (p *Projection) wake() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// advance publishes a committed checkpoint.
func (p *Projection) advance(pos eventstore.Position) {
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

// Close syncs and closes the file (and removes its marker, see
// durability.go). Stop Run (cancel its context) first; waiters are
// released with ErrClosed.
func (p *Projection) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		if cerr := derived.Close(p.db, p.path); cerr != nil {
			err = fmt.Errorf("close register: %w", cerr)
		}
	})
	return err
}
