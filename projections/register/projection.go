package register

import (
	"context"
	"errors"
	"fmt"
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
	db *bolt.DB

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

	closed    chan struct{}
	closeOnce sync.Once
}

// OpenProjection opens (creating if needed) the register file at path.
func OpenProjection(path string) (*Projection, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      5 * time.Second,
		FreelistType: bolt.FreelistMapType,
		// Room to grow without remapping, which would wait for readers.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("open register %s: %w", path, err)
	}
	var pos eventstore.Position
	err = db.Update(func(tx *bolt.Tx) error {
		if err := upgrade(tx); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		pos, err = checkpoint(tx)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open register %s: %w", path, err)
	}
	p := &Projection{db: db, changed: make(chan struct{}), closed: make(chan struct{})}
	p.position.Store(pos)
	return p, nil
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

// Close closes the file. Stop Run (cancel its context) first; waiters are
// released with ErrClosed.
func (p *Projection) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		if cerr := p.db.Close(); cerr != nil {
			err = fmt.Errorf("close register: %w", cerr)
		}
	})
	return err
}
