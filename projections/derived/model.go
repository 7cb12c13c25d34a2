package derived

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// Model is a read model folded from the log into a file of its layout:
// the file, which a live rebuild may replace while it serves; the position
// folded and published, with its waiters; and the writes folded but not
// yet committed, which readers read above the file. The cabinet and the
// register are each one: they differ in their rows, how they fold a batch
// (a FoldFunc) and what they read.
type Model struct {
	name   string
	path   string
	layout Layout

	file     *Handle
	progress *Progress
	pending  *Pending

	closeOnce sync.Once
}

// FoldFunc folds the events after from into db under the pending writes p
// and returns the position reached (from when no event is past it).
type FoldFunc func(db *bolt.DB, p *Pending, events []eventstore.RecordedEvent, from eventstore.Position) (eventstore.Position, error)

// OpenModel opens (creating if needed) the file at path in layout, named
// name in errors; its folded batches wait commitEvery (CommitEvery when 0)
// for their commit, and waiters are released with errClosed on Close.
// Commits are not synced one by one; see the package's comment for why
// that is safe and when the file is deleted to be folded again.
func OpenModel(name, path string, layout Layout, commitEvery time.Duration, errClosed error) (*Model, error) {
	db, pos, err := Open(path, layout.open)
	if err != nil {
		return nil, fmt.Errorf("open %s %s: %w", name, path, err)
	}
	return &Model{name: name, path: path, layout: layout, file: NewHandle(db),
		progress: NewProgress(name, pos, errClosed), pending: NewPending(layout.Meta, pos, commitEvery)}, nil
}

// open opens the file at path in the layout (a file of another is
// emptied first, to be folded again) and reads its checkpoint.
func (l Layout) open(path string) (db *bolt.DB, pos eventstore.Position, err error) {
	db, err = OpenFile(path, func(tx *bolt.Tx) error {
		if err := l.Prepare(tx); err != nil {
			return err
		}
		pos, err = Checkpoint(tx, l.Meta)
		return err
	})
	return db, pos, err
}

// Scratch stops syncing each commit, and writing the list of free pages at
// each (a big list costs more than the commit; a later open rebuilds it),
// for a file that nothing depends on surviving a crash: an auditor's
// replay, an offline rebuild switched in only once complete. Sync flushes
// it at the end.
func (m *Model) Scratch() {
	db := m.file.DB()
	db.NoSync = true
	db.NoFreelistSync = true
}

// Sync flushes the file to disk.
func (m *Model) Sync() error { return m.file.DB().Sync() }

// DB is the file as it is now (see Handle.DB).
func (m *Model) DB() *bolt.DB { return m.file.DB() }

// Position is the log position folded and visible to readers.
func (m *Model) Position() eventstore.Position { return m.progress.Position() }

// WaitFor blocks until the model has folded the log up to pos, ctx is
// done, or the model is closed. It does not need Run to be running when
// called, but it fails when Run has stopped on an error.
func (m *Model) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return m.progress.WaitFor(ctx, pos)
}

// Publish makes a position folded outside Apply visible: that of a fold in
// transactions of its own (a scratch register's).
func (m *Model) Publish(pos eventstore.Position) { m.progress.Publish(pos) }

// Commits is what the fold's commits to the file have cost so far.
func (m *Model) Commits() Commits { return m.file.Commits() }

// Read runs fn with a view of the file under the pending writes.
func (m *Model) Read(fn func(v *View) error) error { return m.pending.Read(m.file, fn) }

// Apply folds a batch of events, in log order, with fold and makes them
// visible at once; the file takes them, with the checkpoint, at the next
// commit of the pending writes. Events at or before the position are
// skipped, so a batch delivered again changes nothing. It must not run
// concurrently with itself.
func (m *Model) Apply(events []eventstore.RecordedEvent, fold FoldFunc) error {
	return m.file.Fold(func(db *bolt.DB) error {
		reached, err := fold(db, m.pending, events, m.Position())
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		m.progress.Publish(reached)
		return nil
	})
}

// Run folds the global log from the checkpoint with fold, then follows it,
// until ctx is done (it then returns ctx's error) or folding fails (see
// Progress.Run). A checkpoint ahead of the store's last position (a store
// restored from an older backup) empties the file to fold the log again,
// running emptied (if not nil) once it is. Only one Run may be active at a
// time.
func (m *Model) Run(ctx context.Context, store eventstore.Store, fold FoldFunc, emptied func()) error {
	// The pending writes are committed beside the fold, while it runs.
	ctx, cancel := context.WithCancel(ctx)
	committing := make(chan struct{})
	go func() {
		defer close(committing)
		m.pending.Run(ctx, m.file)
	}()
	defer func() {
		cancel()
		<-committing
	}()
	return m.progress.Run(ctx, store, Fold{
		Reset: func() error { return m.reset(emptied) },
		Apply: func(events []eventstore.RecordedEvent) error { return m.Apply(events, fold) },
	})
}

// reset empties the file so that Run folds the log again from its start.
func (m *Model) reset(emptied func()) error {
	return m.file.Fold(func(db *bolt.DB) error {
		m.pending.Drop()
		if err := db.Update(m.layout.Empty); err != nil {
			return fmt.Errorf("%s: empty for a new fold: %w", m.name, err)
		}
		if emptied != nil {
			emptied()
		}
		m.progress.Rewind()
		return nil
	})
}

// Rebuild folds the log with fold into a new file beside the model's while
// the model keeps serving and folding, then switches to it between two of
// the live fold's transactions, at the position the live file holds: no
// reader sees a file that is not complete up to a position, and no event
// is lost or folded twice (see Handle.Rebuild). adopt, if not nil, is run
// with the new file at the switch. progress, if not nil, is told each
// position the new file reaches. It must not run concurrently with itself
// or with Close.
func (m *Model) Rebuild(ctx context.Context, store eventstore.Store, fold FoldFunc, adopt func(*bolt.DB), progress func(eventstore.Position)) error {
	var at eventstore.Position
	// The new file takes each page as it is folded: nobody reads it yet.
	pending := NewPending(m.layout.Meta, 0, 0)
	return m.file.Rebuild(ctx, store, m.path, Rebuilder{
		Open: m.layout.open,
		Live: m.Position,
		Fold: func(next *bolt.DB, events []eventstore.RecordedEvent) error {
			reached, err := fold(next, pending, events, at)
			if err != nil {
				return err
			}
			at = max(at, reached)
			return pending.Flush(next)
		},
		Adopt:   adopt,
		Pending: m.pending,
	}, progress)
}

// Close commits the pending writes, syncs and closes the file (and
// removes its marker, see the package's comment). Stop Run (cancel its
// context) first; waiters are released with the model's closed error.
func (m *Model) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.progress.Close()
		perr := m.pending.Close(m.file.DB())
		if cerr := errors.Join(perr, Close(m.file.DB(), m.path)); cerr != nil {
			err = fmt.Errorf("close %s: %w", m.name, cerr)
		}
	})
	return err
}
