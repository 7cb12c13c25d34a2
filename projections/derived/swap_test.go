package derived

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/eventstore"
)

// The counting model: one row, the number of events folded, beside the
// checkpoint. Positions are contiguous, so a file complete up to a position
// has count == checkpoint.
var (
	countMeta = []byte("meta")
	countKey  = []byte("count")
)

func openCount(path string) (*bolt.DB, eventstore.Position, error) {
	var pos eventstore.Position
	db, err := OpenFile(path, func(tx *bolt.Tx) error {
		if err := CreateBuckets(tx, [][]byte{countMeta}); err != nil {
			return err
		}
		var err error
		pos, err = Checkpoint(tx, countMeta)
		return err
	})
	return db, pos, err
}

func foldCount(db *bolt.DB, events []eventstore.RecordedEvent) error {
	return db.Update(func(tx *bolt.Tx) error {
		pos, err := Checkpoint(tx, countMeta)
		if err != nil {
			return err
		}
		b := tx.Bucket(countMeta)
		n := uint64(0)
		if v := b.Get(countKey); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		for _, e := range events {
			if e.Position <= pos {
				continue
			}
			n++
			pos = e.Position
		}
		if err := b.Put(countKey, binary.BigEndian.AppendUint64(nil, n)); err != nil {
			return err
		}
		return SetCheckpoint(tx, countMeta, pos)
	})
}

func readCount(tx *bolt.Tx) (count uint64, pos eventstore.Position, err error) {
	if v := tx.Bucket(countMeta).Get(countKey); v != nil {
		count = binary.BigEndian.Uint64(v)
	}
	pos, err = Checkpoint(tx, countMeta)
	return count, pos, err
}

func appendEvents(ctx context.Context, s eventstore.Store, n int) error {
	for range n {
		if _, err := s.Append(ctx, "count-"+uuid.NewString(), eventstore.NoStream,
			eventstore.Event{ID: uuid.New(), Type: "counted", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
			return err
		}
	}
	return nil
}

// liveCount is a store of events appended and the counting read model's
// live file at path, behind a Handle (the caller closes the file; the
// store is closed at the test's end).
func liveCount(ctx context.Context, t *testing.T, events int) (*embedded.Store, string, *Handle) {
	t.Helper()
	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := appendEvents(ctx, store, events); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "count.db")
	db, _, err := Open(path, openCount)
	if err != nil {
		t.Fatal(err)
	}
	return store, path, NewHandle(db)
}

// TestRebuildSwitchesWhileServingAndFolding rebuilds a read model while its
// live fold follows appends and readers read it: every read sees a file
// complete up to a position, never one going back; after the switch the
// file at the path is another one, with every event folded once.
func TestRebuildSwitchesWhileServingAndFolding(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, path, h := liveCount(ctx, t, 2500)
	defer func() {
		if err := Close(h.DB(), path); err != nil {
			t.Error(err)
		}
	}()
	ino := func() uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := ino()

	// The live fold: batches of what the log has, under the fold lock.
	var live atomic.Uint64
	foldErr := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			evs, err := store.ReadAll(ctx, live.Load(), eventstore.Filter{}, 100)
			if err == nil && len(evs) > 0 {
				err = h.Fold(func(db *bolt.DB) error {
					if err := foldCount(db, evs); err != nil {
						return err
					}
					live.Store(evs[len(evs)-1].Position)
					return nil
				})
			}
			if err != nil {
				if ctx.Err() == nil {
					foldErr <- err
				}
				return
			}
		}
	}()
	appended := make(chan error, 1)
	go func() { appended <- appendEvents(ctx, store, 500) }()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	readErr := make(chan error, 2)
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var seen eventstore.Position
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := h.View(func(tx *bolt.Tx) error {
					n, pos, err := readCount(tx)
					switch {
					case err != nil:
						return err
					case n != pos:
						return fmt.Errorf("a file at %d with %d events folded", pos, n)
					case pos < seen:
						return fmt.Errorf("went back from %d to %d", seen, pos)
					}
					seen = pos
					return nil
				})
				if err != nil {
					readErr <- err
					return
				}
				reads.Add(1)
			}
		}()
	}

	// The live file serves the log written before, then the rebuild
	// starts: most of it is folded while the live fold goes on.
	for live.Load() < 2500 {
		select {
		case err := <-foldErr:
			t.Fatal(err)
		default:
		}
	}
	var reached eventstore.Position
	err := h.Rebuild(ctx, store, path, Rebuilder{
		Open: openCount,
		Live: func() eventstore.Position { return live.Load() },
		Fold: foldCount,
	}, func(pos eventstore.Position) { reached = pos })
	if err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	last, err := store.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for live.Load() < last {
		select {
		case err := <-foldErr:
			t.Fatal(err)
		default:
		}
	}
	close(stop)
	readers.Wait()
	cancel()
	select {
	case err := <-readErr:
		t.Fatal(err)
	default:
	}
	if reads.Load() == 0 || reached < 2500 {
		t.Fatalf("%d reads, the rebuild reached %d", reads.Load(), reached)
	}
	if err := h.View(func(tx *bolt.Tx) error {
		n, pos, err := readCount(tx)
		if err == nil && (n != uint64(last) || pos != last) {
			err = fmt.Errorf("after the switch: %d events folded, at %d, of %d", n, pos, last)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ino() == before {
		t.Error("the file at the path is the same after the rebuild")
	}
	if _, err := os.Stat(Rebuilding(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rebuilt file is still at its own name: %v", err)
	}
	if _, err := os.Stat(Rebuilding(path) + markerSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rebuilt file's marker is left: %v", err)
	}
	if _, err := os.Stat(path + markerSuffix); err != nil {
		t.Errorf("the live file has lost its marker: %v", err)
	}
}

// A rebuild that fails before the switch deletes its file and leaves the
// live one as it was.
func TestRebuildFailingChangesNothing(t *testing.T) {
	ctx := context.Background()
	store, path, h := liveCount(ctx, t, 50)
	db := h.DB()
	defer func() { _ = Close(h.DB(), path) }()
	boom := errors.New("boom")
	err := h.Rebuild(ctx, store, path, Rebuilder{
		Open: openCount,
		Live: func() eventstore.Position { return 50 },
		Fold: func(*bolt.DB, []eventstore.RecordedEvent) error { return boom },
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("want the fold's error, got %v", err)
	}
	if h.DB() != db {
		t.Error("switched after a failure")
	}
	if _, err := os.Stat(Rebuilding(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed rebuild's file is left: %v", err)
	}
}
