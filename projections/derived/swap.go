package derived

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// Handle is the open file of a read model that a live rebuild may replace
// while readers and the fold keep using it (see switchTo).
type Handle struct {
	db atomic.Pointer[bolt.DB]
	// fold is held by each transaction of the live fold and by switchTo, so
	// that the switch falls between two of them.
	fold sync.Mutex
	// replaced is the cost of the commits of the files a switch replaced;
	// counted is held while the file and it change together.
	counted  sync.Mutex
	replaced Commits
}

// NewHandle holds db, a file opened by Open.
func NewHandle(db *bolt.DB) *Handle {
	h := &Handle{}
	h.db.Store(db)
	return h
}

// DB is the file as it is now; a caller that keeps it across a switch
// finds it closed.
func (h *Handle) DB() *bolt.DB { return h.db.Load() }

// View runs fn in a read transaction of the current file. A reader that
// took the file a switch is closing begins again on the new one: bbolt's
// Close waits for the read transactions that have begun, and refuses one
// that begins after it (ErrDatabaseNotOpen) before running anything.
func (h *Handle) View(fn func(tx *bolt.Tx) error) error {
	for {
		db := h.db.Load()
		err := db.View(fn)
		if errors.Is(err, bolt.ErrDatabaseNotOpen) && h.db.Load() != db {
			continue
		}
		return err
	}
}

// Fold runs fn, one step of the live fold (its transaction and what it
// publishes), on the current file and never during a switch.
func (h *Handle) Fold(fn func(db *bolt.DB) error) error {
	h.fold.Lock()
	defer h.fold.Unlock()
	return fn(h.db.Load())
}

// Rebuilding is the path of the file a live rebuild of the read model at
// path folds into, beside it.
func Rebuilding(path string) string { return path + ".rebuild" }

// OpenRebuild opens an empty file to rebuild the read model at path into,
// at Rebuilding(path), with open (the read model's own, as for Open); what
// an interrupted rebuild left there is deleted first. Its commits are not
// synced (it has its marker, as a file opened by Open).
func OpenRebuild(path string, open func(path string) (*bolt.DB, eventstore.Position, error)) (*bolt.DB, error) {
	next := Rebuilding(path)
	if err := discard(next); err != nil {
		return nil, err
	}
	db, pos, err := Open(next, open)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", next, err)
	}
	if pos != 0 {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: not empty (at %d)", next, pos)
	}
	return db, nil
}

// DiscardRebuild closes and deletes a rebuilt file that is not switched in.
func DiscardRebuild(db *bolt.DB) error {
	path := db.Path()
	return errors.Join(db.Close(), discard(path))
}

// switchTo replaces the handle's file, at path, with next (opened by
// OpenRebuild), between two steps of the live fold, which it holds back
// meanwhile: catchUp, called then, folds into next what the live file has
// and next lacks, so that next holds exactly the live position; then next
// takes path's name (an atomic rename), readers move to it, and the old
// file, now nameless, is closed once its last reader is done (and so
// deleted). Readers are not held back: until the pointer moves they read
// the old file, which is complete at the same position. The commits of
// the live file's pending writes (nil: none), which next holds once caught
// up, are held back until readers have moved to next (the old file lacks
// them), and the writes are then dropped, as a commit of them into next
// would set its checkpoint back. switched tells whether next is now the
// handle's file (even with an error, of tidying up after); if not, next is
// left to the caller.
func (h *Handle) switchTo(ctx context.Context, path string, next *bolt.DB, catchUp func(ctx context.Context, next *bolt.DB) error, pending *Pending) (switched bool, err error) {
	old, err := h.swap(ctx, path, next, catchUp, pending)
	if old == nil {
		return false, err
	}
	// Not synced: the file is deleted once closed.
	if cerr := old.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the replaced %s: %w", path, cerr))
	}
	return true, err
}

func (h *Handle) swap(ctx context.Context, path string, next *bolt.DB, catchUp func(ctx context.Context, next *bolt.DB) error, pending *Pending) (*bolt.DB, error) {
	h.fold.Lock()
	defer h.fold.Unlock()
	if pending != nil {
		pending.commit.Lock()
		defer pending.commit.Unlock()
	}
	if err := catchUp(ctx, next); err != nil {
		return nil, fmt.Errorf("catch up %s: %w", next.Path(), err)
	}
	// The live file's marker (of this boot: it is open) stands for next
	// once next has its name: next, too, takes commits that are not synced.
	if _, err := os.Stat(path + markerSuffix); err != nil {
		return nil, fmt.Errorf("switch %s: the live file has no marker: %w", path, err)
	}
	if err := os.Rename(next.Path(), path); err != nil {
		return nil, fmt.Errorf("switch %s: %w", path, err)
	}
	h.counted.Lock()
	old := h.db.Swap(next)
	h.replaced = h.replaced.add(commitsOf(old))
	h.counted.Unlock()
	if pending != nil {
		if err := pending.dropFor(next); err != nil {
			return old, fmt.Errorf("switch %s: %w", path, err)
		}
	}
	if err := os.Remove(next.Path() + markerSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return old, fmt.Errorf("switch %s: remove the rebuilt file's marker: %w", path, err)
	}
	return old, syncDir(filepath.Dir(path))
}

// Rebuilder is what a live rebuild needs of a read model.
type Rebuilder struct {
	// Open opens the read model's file (as for Open).
	Open func(path string) (*bolt.DB, eventstore.Position, error)
	// Live is the position the live file has committed.
	Live func() eventstore.Position
	// Fold folds a page of the log, in log order and contiguous, into the
	// new file.
	Fold func(next *bolt.DB, events []eventstore.RecordedEvent) error
	// Adopt, if not nil, is called with the live fold held back once next
	// holds the live position, just before readers move to it: the read
	// model takes what it keeps beside the file (a checkpoint, say).
	Adopt func(next *bolt.DB)
	// Pending, if not nil, is the live file's pending writes, which next
	// holds once it has the live position (see switchTo).
	Pending *Pending
}

// rebuildPage is how many events a rebuild reads and folds at a time.
const rebuildPage = 4096

// Rebuild folds the whole log into a new file beside the read model's at
// path (Rebuilding(path)) while the live file keeps serving and folding,
// catches it up with the live one in rounds until a round has at most
// MaxBatch events to fold, then holds the live fold back for what is left
// (what came during that round) and switches (see switchTo).
// progress, if not nil, is told each position the new file reaches. On an
// error before the switch the new file is deleted and the live one goes on
// as it was.
func (h *Handle) Rebuild(ctx context.Context, store eventstore.Store, path string, r Rebuilder, progress func(eventstore.Position)) error {
	next, err := OpenRebuild(path, r.Open)
	if err != nil {
		return err
	}
	var (
		at     eventstore.Position
		folded int // events folded by the last call of fold
	)
	fold := func(ctx context.Context, upTo eventstore.Position) error {
		folded = 0
		for at < upTo {
			evs, err := store.ReadAll(ctx, at, eventstore.Filter{}, rebuildPage)
			if err != nil {
				return fmt.Errorf("read the log after %d: %w", at, err)
			}
			if len(evs) == 0 {
				return fmt.Errorf("the log ends at %d, before %d", at, upTo)
			}
			// Not past upTo: the live fold folds what comes after.
			if n := len(evs); evs[n-1].Position > upTo {
				i := n
				for i > 0 && evs[i-1].Position > upTo {
					i--
				}
				evs = evs[:i]
			}
			if len(evs) == 0 {
				return fmt.Errorf("the log has no event at %d", upTo)
			}
			if err := r.Fold(next, evs); err != nil {
				return err
			}
			folded += len(evs)
			at = evs[len(evs)-1].Position
			if progress != nil {
				progress(at)
			}
		}
		return nil
	}
	// Each round folds what the live file gained during the last one
	// (counted in events: positions need not be contiguous).
	for {
		if err := fold(ctx, r.Live()); err != nil {
			return errors.Join(fmt.Errorf("rebuild %s: %w", path, err), DiscardRebuild(next))
		}
		if folded <= MaxBatch {
			break
		}
	}
	switched, err := h.switchTo(ctx, path, next, func(ctx context.Context, next *bolt.DB) error {
		live := r.Live()
		if live < at {
			// Reset (the log was restored from an older backup): what
			// was rebuilt is of another log.
			return fmt.Errorf("the live file went back to %d, behind the rebuilt %d", live, at)
		}
		if err := fold(ctx, live); err != nil {
			return err
		}
		if r.Adopt != nil {
			r.Adopt(next)
		}
		return nil
	}, r.Pending)
	if !switched {
		return errors.Join(fmt.Errorf("rebuild %s: %w", path, err), DiscardRebuild(next))
	}
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", path, err)
	}
	return nil
}
