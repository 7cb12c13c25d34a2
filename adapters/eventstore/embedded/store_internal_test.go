package embedded

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

func TestRecordedAtComesFromTheClock(t *testing.T) {
	ctx := t.Context()
	c := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s := openStore(t, t.TempDir(), WithClock(c))

	ev := testEvent(0)
	ev.Metadata.RecordedAt = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) // the store's to set
	if _, err := s.Append(ctx, "person-1", eventstore.Any, ev); err != nil {
		t.Fatal(err)
	}
	if err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "person-1", eventstore.Any, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadStream(ctx, "person-1", 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)} {
		if !got[i].Metadata.RecordedAt.Equal(want) {
			t.Errorf("event %d recorded at %s, want %s", i, got[i].Metadata.RecordedAt, want)
		}
	}
}

func TestStreamNames(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir())
	longest := strings.Repeat("s", MaxStreamName)
	if _, err := s.Append(ctx, longest, eventstore.NoStream, testEvent(0)); err != nil {
		t.Fatalf("append to a %d-byte name: %v", MaxStreamName, err)
	}
	for _, name := range []string{"", longest + "s"} {
		if _, err := s.Append(ctx, name, eventstore.Any, testEvent(0)); !errors.Is(err, ErrInvalidStream) {
			t.Errorf("append to a %d-byte name: err = %v, want ErrInvalidStream", len(name), err)
		}
		if _, err := s.ReadStream(ctx, name, 0, eventstore.Forwards, 1); !errors.Is(err, ErrInvalidStream) {
			t.Errorf("read a %d-byte name: err = %v, want ErrInvalidStream", len(name), err)
		}
	}
	// A name that is a prefix of another does not see the other's events.
	if _, err := s.Append(ctx, longest[:10], eventstore.NoStream, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadStream(ctx, longest[:10], 0, eventstore.Forwards, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("read the shorter stream: %d events, %v; want 1", len(got), err)
	}
}

func TestInvalidEvents(t *testing.T) {
	s := openStore(t, t.TempDir())
	noID, noType, badData := testEvent(0), testEvent(1), testEvent(2)
	noID.ID = uuid.Nil
	noType.Type = ""
	badData.Data = []byte(`{"n":`)
	for _, ev := range []eventstore.Event{noID, noType, badData} {
		if _, err := s.Append(t.Context(), "person-1", eventstore.Any, testEvent(9), ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("append %+v: err = %v, want ErrInvalidEvent", ev, err)
		}
	}
	if last, _ := s.LastPosition(t.Context()); last != 0 {
		t.Fatalf("invalid appends wrote up to %d", last)
	}
}

func TestDuplicateIDs(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir())
	e := testEvent(0)

	res, err := s.Append(ctx, "person-1", eventstore.NoStream, e, e)
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventstore.AppendResult{NextRevision: 0, Position: 1, Duplicates: 1}); res != want {
		t.Fatalf("append of one id twice: %+v, want %+v", res, want)
	}
	// Ids are unique across streams: the event is not written to another.
	res, err = s.Append(ctx, "person-2", eventstore.NoStream, e)
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventstore.AppendResult{NextRevision: 0, Position: 1, Duplicates: 1}); res != want {
		t.Fatalf("append of a stored id to another stream: %+v, want %+v", res, want)
	}
	if _, err := s.ReadStream(ctx, "person-2", 0, eventstore.Forwards, 1); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read the other stream: err = %v, want ErrStreamNotFound", err)
	}
	// An AppendMany that repeats an id in two of its streams writes it once.
	f := testEvent(1)
	results, err := s.AppendMany(ctx, []eventstore.StreamAppend{
		{Stream: "person-3", Expected: eventstore.NoStream, Events: []eventstore.Event{f}},
		{Stream: "person-4", Expected: eventstore.NoStream, Events: []eventstore.Event{f}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Duplicates != 0 || results[1].Duplicates != 1 || results[1].Position != 2 {
		t.Fatalf("append many repeating an id: %+v", results)
	}
	if last, _ := s.LastPosition(ctx); last != 2 {
		t.Fatalf("last position %d, want 2", last)
	}
}

func TestEmptyAppendChecksExpectation(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir())
	if _, err := s.Append(ctx, "person-1", eventstore.NoStream); err != nil {
		t.Fatalf("empty append expecting no stream: %v", err)
	}
	if _, err := s.Append(ctx, "person-1", eventstore.StreamExists); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("empty append expecting the stream: err = %v, want ErrWrongExpectedRevision", err)
	}
	if _, err := s.Append(ctx, "person-1", eventstore.Any, testEvent(0), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, "person-1", eventstore.Exact(1))
	if err != nil {
		t.Fatal(err)
	}
	if want := (eventstore.AppendResult{NextRevision: 1, Position: 2}); res != want {
		t.Fatalf("empty append: %+v, want %+v", res, want)
	}
}

func TestMaxMustBePositive(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, err := s.ReadAll(t.Context(), 0, eventstore.Filter{}, 0); err == nil {
		t.Error("read all with max 0 succeeded")
	}
	if _, err := s.ReadStream(t.Context(), "person-1", 0, eventstore.Forwards, 0); err == nil {
		t.Error("read stream with max 0 succeeded")
	}
}

func TestOpenRefusesAnotherFormat(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(filepath.Join(dir, FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(keyFormat, []byte{storeFormat + 1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		_ = s.Close()
		t.Fatal("open of a store in another format succeeded")
	}
}

// A directory with the bbolt file of format 1 is refused, not silently
// given an empty store.
func TestOpenRefusesBboltStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, legacyFileName), []byte("bbolt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		_ = s.Close()
		t.Fatal("open of a directory holding events.db succeeded")
	}
}

func TestOpenLockedStoreFails(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir)
	if s, err := Open(dir, WithLockTimeout(20*time.Millisecond)); err == nil {
		_ = s.Close()
		t.Fatal("second open of a store in use succeeded")
	}
}

// A store opened read only (an auditor's) reads what a server left, refuses
// appends and writes nothing to its directory but the lock file, not even
// the flush of what its write-ahead log holds.
func TestReadOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Append(t.Context(), "person-1", eventstore.Any, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := storetest.Files(t, dir, FileName)

	ro, err := Open(dir, ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ro.ReadAll(t.Context(), 0, eventstore.Filter{}, 10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("read all: %d events, %v; want 3", len(evs), err)
	}
	if _, err := ro.Append(t.Context(), "person-1", eventstore.Any, testEvent(4)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("append read only: %v, want ErrReadOnly", err)
	}
	if breaks, err := ro.VerifyChain(t.Context(), nil); err != nil || len(breaks) > 0 {
		t.Fatalf("verify the chain read only: %v, %v", breaks, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := storetest.Files(t, dir, FileName); after != before {
		t.Errorf("the directory changed under a read-only open:\nbefore %s\nafter  %s", before, after)
	}

	if s, err := Open(t.TempDir(), ReadOnly()); err == nil {
		_ = s.Close()
		t.Error("a read-only open of an empty directory started a store")
	}
}

// A deferred append returns before its sync: its stream's readers see it at
// once, the log's readers only once it is synced, which Sync waits for.
func TestDeferredAppendIsSeenByTheLogOnceSynced(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	s := openStore(t, dir, func(c *config) { c.beforeSync = func() { <-release } })
	ctx := eventstore.WithDeferredSync(t.Context())
	res, err := s.Append(ctx, "person-1", eventstore.NoStream, testEvent(1))
	if err != nil {
		t.Fatal(err)
	}
	// The writer now waits to sync it on its own.
	if evs, err := s.ReadStream(t.Context(), "person-1", 0, eventstore.Forwards, 10); err != nil || len(evs) != 1 {
		t.Fatalf("read the stream before the sync: %d events, %v", len(evs), err)
	}
	if last, _ := s.LastPosition(t.Context()); last >= res.Position {
		t.Fatalf("last position %d before the sync of %d", last, res.Position)
	}
	if evs, err := s.ReadAll(t.Context(), 0, eventstore.Filter{}, 10); err != nil || len(evs) != 0 {
		t.Fatalf("read the log before the sync: %d events, %v", len(evs), err)
	}
	synced := make(chan error, 1)
	go func() { synced <- s.Sync(t.Context()) }()
	close(release)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastPosition(t.Context()); last < res.Position {
		t.Fatalf("last position %d after Sync of %d", last, res.Position)
	}
	if evs, err := s.ReadAll(t.Context(), 0, eventstore.Filter{}, 10); err != nil || len(evs) != 1 {
		t.Fatalf("read the log after Sync: %d events, %v", len(evs), err)
	}
}

var errDiskSync = errors.New("injected: the disk failed a sync")

// failedSyncChild, set in the environment, makes
// TestFailedSyncEndsTheProcess's own test binary the process that fails.
const failedSyncChild = "EMBEDDED_TEST_FAILED_SYNC_DIR"

// A sync of the write-ahead log that fails may have lost appends, the
// deferred ones and those waiting on it. Pebble then ends the process
// (its commit pipeline cannot go on): nothing more is acknowledged, and a
// restart recovers what is durable, while the sagas, whose checkpoints
// wait for the sync, decide the lost triggers again with the same ids.
// The test fails the background sync of a deferred append in a child
// process and checks that the child ends, saying why.
func TestFailedSyncEndsTheProcess(t *testing.T) {
	if dir := os.Getenv(failedSyncChild); dir != "" {
		failTheBackgroundSync(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedSyncEndsTheProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), failedSyncChild+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child went on after its sync failed (%v):\n%s", err, out)
	}
	for _, want := range []string{"event store: pebble: fatal commit error", errDiskSync.Error()} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child's output does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "survived") {
		t.Errorf("the child survived its failed sync:\n%s", out)
	}
}

// failTheBackgroundSync is the child: it appends under a deferred sync,
// then makes the disk fail the syncer's sync. It should never return.
func failTheBackgroundSync(t *testing.T, dir string) {
	var failSyncs atomic.Bool
	release := make(chan struct{})
	s, err := Open(dir, func(c *config) {
		c.fs = failingSyncs{FS: vfs.Default, fail: &failSyncs}
		c.beforeSync = func() { <-release }
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(eventstore.WithDeferredSync(t.Context()), "person-1", eventstore.NoStream, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	failSyncs.Store(true)
	close(release)
	time.Sleep(10 * time.Second) // the sync fails at once; a guard, not a measurement
	fmt.Println("survived")      // the parent fails on this
}

// failingSyncs is a file system whose write-ahead log files fail every
// sync while fail is set. (Pebble's errorfs does not inject into SyncData,
// which its write-ahead log syncs with.)
type failingSyncs struct {
	vfs.FS
	fail *atomic.Bool
}

func (fs failingSyncs) wrap(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return failingSyncFile{File: f, fail: fs.fail}, nil
}

func (fs failingSyncs) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	return fs.wrap(f, name, err)
}

func (fs failingSyncs) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname)
	return fs.wrap(f, newname, err)
}

type failingSyncFile struct {
	vfs.File
	fail *atomic.Bool
}

func (f failingSyncFile) Sync() error {
	if f.fail.Load() {
		return errDiskSync
	}
	return f.File.Sync()
}

func (f failingSyncFile) SyncData() error {
	if f.fail.Load() {
		return errDiskSync
	}
	return f.File.SyncData()
}

func (f failingSyncFile) SyncTo(length int64) (bool, error) {
	if f.fail.Load() {
		return false, errDiskSync
	}
	return f.File.SyncTo(length)
}
