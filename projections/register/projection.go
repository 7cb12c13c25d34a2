package register

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// ErrClosed: the projection has been closed.
var ErrClosed = errors.New("register projection closed")

// Projection is the register of persons folded from the global log into a
// bbolt file: the facts decisions read, a birthday index for the calendar,
// and the checkpoint, all written in the same transactions so that a
// restart neither loses nor doubles an event. Reads are safe for concurrent
// use with the fold.
type Projection struct {
	// file is the open file, which Rebuild may replace while it serves.
	file *derived.Handle
	path string

	// progress is the position folded and published, and its waiters;
	// pending, what the fold has written that the file has not yet taken:
	// readers read the file through it.
	progress *derived.Progress
	pending  *derived.Pending

	closeOnce sync.Once
}

// Option configures OpenProjection.
type Option func(*options)

type options struct{ commitEvery time.Duration }

// WithCommitEvery sets how long folded batches, visible at once, wait for
// their commit to the file (derived.CommitEvery by default): longer shares
// more of the file's pages among them, and leaves more to fold again after
// a crash.
func WithCommitEvery(d time.Duration) Option {
	return func(o *options) { o.commitEvery = d }
}

// OpenProjection opens (creating if needed) the register file at path. Its
// commits are not synced one by one; see projections/derived for why that is
// safe and when it deletes the file to have it folded again.
func OpenProjection(path string, opts ...Option) (*Projection, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	db, pos, err := derived.Open(path, openFile)
	if err != nil {
		return nil, fmt.Errorf("open register %s: %w", path, err)
	}
	return &Projection{file: derived.NewHandle(db), path: path, progress: derived.NewProgress("register", pos, ErrClosed),
		pending: derived.NewPending(bucketMeta, pos, o.commitEvery)}, nil
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

// reset empties the register so that Run folds the log again from its
// start.
func (p *Projection) reset() error {
	return p.file.Fold(func(db *bolt.DB) error {
		p.pending.Drop()
		if err := db.Update(fileLayout.Empty); err != nil {
			return fmt.Errorf("register: empty for a new fold: %w", err)
		}
		p.progress.Rewind()
		return nil
	})
}

// Commits is what the fold's commits to the file have cost so far.
func (p *Projection) Commits() derived.Commits { return p.file.Commits() }

// Position is the log position the register has folded up to.
func (p *Projection) Position() eventstore.Position { return p.progress.Position() }

// WaitFor blocks until the register has folded the log up to pos, ctx is
// done, or the projection is closed. It does not need Run to be running
// when called (the server may start them in any order), but it fails when
// Run has stopped on an error.
func (p *Projection) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return p.progress.WaitFor(ctx, pos)
}

// read runs fn with a view of the file under the pending writes.
func (p *Projection) read(fn func(v *derived.View) error) error { return p.pending.Read(p.file, fn) }

// Close commits the pending writes, syncs and closes the file (and removes
// its marker, see projections/derived). Stop Run (cancel its context)
// first; waiters are released with ErrClosed.
func (p *Projection) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.progress.Close()
		perr := p.pending.Close(p.file.DB())
		if cerr := errors.Join(perr, derived.Close(p.file.DB(), p.path)); cerr != nil {
			err = fmt.Errorf("close register: %w", cerr)
		}
	})
	return err
}
