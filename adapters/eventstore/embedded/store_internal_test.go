package embedded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
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
