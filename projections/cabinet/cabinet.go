// Package cabinet is the citizen's read model: drafts, grants, situations
// and notifications folded from the situation streams of the global log
// into a bbolt file, with the checkpoint written in the same transactions
// as the rows, so that a restart neither loses nor doubles an event.
package cabinet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
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
	// file is the open file, which Rebuild may replace while it serves.
	file *derived.Handle
	path string

	family Family
	clock  clock.Clock

	// progress is the position folded and published, and its waiters;
	// pending, what the fold has written that the file has not yet taken:
	// readers read the file through it.
	progress    *derived.Progress
	pending     *derived.Pending
	commitEvery time.Duration
	// cache keeps recently folded situations for the next batches; only
	// the fold uses it.
	cache *foldCache

	closeOnce sync.Once
}

// Option configures Open.
type Option func(*Cabinet)

// WithFamily lets parents see the grants of their children who are under
// 18 on the clock's date. Without it nobody sees another person's grants.
func WithFamily(f Family, c clock.Clock) Option {
	return func(cab *Cabinet) { cab.family, cab.clock = f, c }
}

// WithCommitEvery sets how long folded batches, visible at once, wait for
// their commit to the file (derived.CommitEvery by default): longer shares
// more of the file's pages among them, and leaves more to fold again after
// a crash.
func WithCommitEvery(d time.Duration) Option {
	return func(cab *Cabinet) { cab.commitEvery = d }
}

// Open opens (creating if needed) the cabinet file at path. Its commits
// are not synced one by one; see projections/derived for why that is safe and
// when Open deletes the file to have it folded again.
func Open(path string, opts ...Option) (*Cabinet, error) {
	db, pos, err := derived.Open(path, openFile)
	if err != nil {
		return nil, fmt.Errorf("open cabinet %s: %w", path, err)
	}
	c := &Cabinet{file: derived.NewHandle(db), path: path,
		progress: derived.NewProgress("cabinet", pos, ErrClosed), cache: newFoldCache(cachedSituations)}
	for _, o := range opts {
		o(c)
	}
	c.pending = derived.NewPending(bucketMeta, pos, c.commitEvery)
	if (c.family == nil) != (c.clock == nil) {
		_ = c.Close()
		return nil, fmt.Errorf("open cabinet %s: a family needs a clock to tell minors", path)
	}
	return c, nil
}

// openFile opens the bbolt file in the current layout (a file of another
// is emptied first, to be folded again) and reads the checkpoint.
func openFile(path string) (db *bolt.DB, pos eventstore.Position, err error) {
	db, err = derived.OpenFile(path, func(tx *bolt.Tx) error {
		if err := fileLayout.Prepare(tx); err != nil {
			return err
		}
		pos, err = derived.Checkpoint(tx, bucketMeta)
		return err
	})
	return db, pos, err
}

// reset empties the cabinet so that Run folds the log again from its start.
func (c *Cabinet) reset() error {
	return c.file.Fold(func(db *bolt.DB) error {
		c.pending.Drop()
		if err := db.Update(fileLayout.Empty); err != nil {
			return fmt.Errorf("cabinet: empty for a new fold: %w", err)
		}
		c.cache.clear()
		c.progress.Rewind()
		return nil
	})
}

// Commits is what the fold's commits to the file have cost so far.
func (c *Cabinet) Commits() derived.Commits { return c.file.Commits() }

// Position is the log position the cabinet has folded up to.
func (c *Cabinet) Position() eventstore.Position { return c.progress.Position() }

// WaitFor blocks until the cabinet has folded the log up to pos, ctx is
// done, or the cabinet is closed. It does not need Run to be running when
// called, but it fails when Run has stopped on an error.
func (c *Cabinet) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return c.progress.WaitFor(ctx, pos)
}

// read runs fn with a view of the file under the pending writes.
func (c *Cabinet) read(fn func(v *derived.View) error) error { return c.pending.Read(c.file, fn) }

// Close commits the pending writes, syncs and closes the file (and removes its marker, see
// projections/derived). Stop Run (cancel its context) first; waiters are
// released with ErrClosed.
func (c *Cabinet) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.progress.Close()
		perr := c.pending.Close(c.file.DB())
		if cerr := errors.Join(perr, derived.Close(c.file.DB(), c.path)); cerr != nil {
			err = fmt.Errorf("close cabinet: %w", cerr)
		}
	})
	return err
}
