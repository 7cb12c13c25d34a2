package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// setChainHash fills in the hash field of a record of format 2 stored at
// pos after prev, as the writer does, and returns the hash.
func (c *chainer) setChainHash(prev *chainHash, pos eventstore.Position, rec []byte) chainHash {
	h, _ := c.link(prev, pos, rec)
	copy(rec[1:1+hashSize], h[:])
	return h
}

// chainEvents is the number of events chainStore writes.
const chainEvents = 24

// chainStore writes chainEvents events to a new store in dir, in several
// commits and streams (person-0..2, 8 events each, in appends of 2 and one
// AppendMany), and closes it.
func chainStore(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	n := 0
	next := func() eventstore.Event { n++; return testEvent(n) }
	for range 3 {
		for p := range 3 {
			if _, err := s.Append(ctx, fmt.Sprintf("person-%d", p), eventstore.Any, next(), next()); err != nil {
				t.Fatal(err)
			}
		}
	}
	var appends []eventstore.StreamAppend
	for p := range 3 {
		appends = append(appends, eventstore.StreamAppend{Stream: fmt.Sprintf("person-%d", p), Expected: eventstore.Any, Events: []eventstore.Event{next(), next()}})
	}
	if _, err := s.AppendMany(ctx, appends); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastPosition(ctx); last != chainEvents {
		t.Fatalf("wrote %d events, want %d", last, chainEvents)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// tamper opens the closed store's Pebble database directly and changes it.
func tamper(t *testing.T, dir string, change func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, FileName), &pebble.Options{Comparer: comparer, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	change(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, db *pebble.DB, key []byte) []byte {
	t.Helper()
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("get %x: %v", key, err)
	}
	defer closer.Close()
	return bytes.Clone(v)
}

func mustSet(t *testing.T, db *pebble.DB, key, val []byte) {
	t.Helper()
	if err := db.Set(key, val, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func mustDelete(t *testing.T, db *pebble.DB, key []byte) {
	t.Helper()
	if err := db.Delete(key, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func logKey(pos uint64) []byte { return appendLogKey(nil, pos) }

// storedEvent decodes the record stored at pos.
func storedEvent(t *testing.T, db *pebble.DB, pos uint64) eventstore.RecordedEvent {
	t.Helper()
	ev, _, err := decodeRecord(mustGet(t, db, logKey(pos)), pos, &eventstore.Filter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// reopen opens the store in dir again; closeIt closes it, the test failing
// on an error.
func reopen(t *testing.T, dir string) (s *Store, closeIt func()) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}

// verify reopens the store, runs VerifyChain and closes the store.
func verify(t *testing.T, dir string) []ChainBreak {
	t.Helper()
	s, closeIt := reopen(t, dir)
	defer closeIt()
	var calls, lastDone, lastTotal uint64
	breaks, err := s.VerifyChain(t.Context(), func(done, total uint64) {
		calls++
		if done > total {
			t.Errorf("progress %d of %d", done, total)
		}
		lastDone, lastTotal = done, total
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if calls == 0 || lastDone != lastTotal {
		t.Errorf("progress: %d calls, last %d of %d", calls, lastDone, lastTotal)
	}
	scanVerifyingAgrees(t, s, breaks)
	return breaks
}

// scanVerifyingAgrees checks that ScanVerifying finds what VerifyChain
// found and lends what Scan reads.
func scanVerifyingAgrees(t *testing.T, s *Store, breaks []ChainBreak) {
	t.Helper()
	ctx := t.Context()
	last, err := s.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lent := func(got *[]string) func(e *eventstore.RecordedEvent) error {
		return func(e *eventstore.RecordedEvent) error {
			*got = append(*got, fmt.Sprintf("%d %s %d %s %s", e.Position, e.Stream, e.Revision, e.Type, e.Data))
			return nil
		}
	}
	var scanned, scanLent []string
	scanErr := s.Scan(ctx, 0, last, eventstore.Filter{}, lent(&scanned))
	wait, err := s.ScanVerifying(ctx, last, eventstore.Filter{}, lent(&scanLent), nil)
	if fmt.Sprint(err) != fmt.Sprint(scanErr) {
		t.Fatalf("ScanVerifying: %v; Scan: %v", err, scanErr)
	}
	if err != nil {
		return
	}
	if !slices.Equal(scanLent, scanned) {
		t.Fatalf("ScanVerifying lent\n%s\nScan read\n%s", strings.Join(scanLent, "\n"), strings.Join(scanned, "\n"))
	}
	got, err := wait()
	if err != nil {
		t.Fatalf("ScanVerifying's check: %v", err)
	}
	if !slices.Equal(got, breaks) {
		t.Fatalf("ScanVerifying found %v, VerifyChain %v", got, breaks)
	}
}

type wantBreak struct {
	pos  uint64
	kind string
}

func checkBreaks(t *testing.T, got []ChainBreak, want ...wantBreak) {
	t.Helper()
	var g []wantBreak
	for _, b := range got {
		g = append(g, wantBreak{b.Position, b.Kind})
	}
	if !slices.Equal(g, want) {
		var lines []string
		for _, b := range got {
			lines = append(lines, "\t"+b.String())
		}
		t.Fatalf("breaks %v, want %v:\n%s", g, want, strings.Join(lines, "\n"))
	}
	for _, b := range got {
		t.Logf("found %s", b)
	}
}

func TestChainUntouchedStoreVerifies(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	checkBreaks(t, verify(t, dir))

	// The chain goes on across a reopen, and an empty store verifies too.
	s := openStore(t, dir)
	if _, err := s.Append(t.Context(), "person-9", eventstore.NoStream, testEvent(100)); err != nil {
		t.Fatal(err)
	}
	breaks, err := s.VerifyChain(t.Context(), nil)
	if err != nil || len(breaks) != 0 {
		t.Fatalf("after another append: %v, %v", breaks, err)
	}
	pos, _, err := s.ChainHead(t.Context())
	if err != nil || pos != chainEvents+1 {
		t.Fatalf("chain head at %d (%v), want %d", pos, err, chainEvents+1)
	}
	checkBreaks(t, verify(t, t.TempDir()))
}

func TestChainRecordsCarryTheChain(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		c := newChainer()
		var prev chainHash
		for pos := uint64(1); pos <= chainEvents; pos++ {
			rec := mustGet(t, db, logKey(pos))
			if rec[0] != recordV2 {
				t.Fatalf("position %d: record format %d", pos, rec[0])
			}
			h, _ := c.link(&prev, pos, rec)
			if !bytes.Equal(rec[1:1+hashSize], h[:]) {
				t.Fatalf("position %d: stored hash %x, want %x", pos, rec[1:1+hashSize], h)
			}
			prev = h
		}
		head, err := decodeChainPoint(mustGet(t, db, keyChainHead))
		if err != nil || head.pos != chainEvents || head.hash != prev {
			t.Fatalf("chain head %+v (%v), want %d %x", head, err, chainEvents, prev)
		}
	})
}

func TestChainDetectsEditedRecord(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		rec := mustGet(t, db, logKey(7))
		// The data {"n":7} becomes {"n":8}: still valid JSON.
		i := bytes.LastIndex(rec, []byte(`"n":7}`))
		if i < 0 {
			t.Fatalf("record 7 has no n:7: %q", rec)
		}
		rec[i+4] = '8'
		mustSet(t, db, logKey(7), rec)
	})
	checkBreaks(t, verify(t, dir), wantBreak{7, BreakEdited})
}

func TestChainDetectsEditedMetadata(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		rec := mustGet(t, db, logKey(13))
		// The revision, right after the version and the hash.
		rec[1+hashSize]++
		mustSet(t, db, logKey(13), rec)
	})
	// The stream index now disagrees too, but the edit explains it.
	checkBreaks(t, verify(t, dir), wantBreak{13, BreakEdited})
}

func TestChainDetectsDeletedRecord(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) { mustDelete(t, db, logKey(5)) })
	checkBreaks(t, verify(t, dir), wantBreak{5, BreakDeleted})
}

func TestChainDetectsDeletedRun(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		for pos := uint64(10); pos <= 12; pos++ {
			mustDelete(t, db, logKey(pos))
		}
	})
	breaks := verify(t, dir)
	checkBreaks(t, breaks, wantBreak{10, BreakDeleted})
	if !strings.Contains(breaks[0].Detail, "10 to 12") {
		t.Fatalf("detail %q does not name the run", breaks[0].Detail)
	}
}

// Removing the last records leaves no gap in the log: the chain head
// written at each commit tells.
func TestChainDetectsDeletedTail(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) { mustDelete(t, db, logKey(chainEvents)) })
	checkBreaks(t, verify(t, dir), wantBreak{chainEvents, BreakDeleted})

	// Appending afterwards does not cover the gap.
	s := openStore(t, dir)
	res, err := s.Append(t.Context(), "person-9", eventstore.NoStream, testEvent(100))
	if err != nil {
		t.Fatal(err)
	}
	if res.Position != chainEvents+1 {
		t.Fatalf("appended at %d, want %d", res.Position, chainEvents+1)
	}
	breaks, err := s.VerifyChain(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkBreaks(t, breaks, wantBreak{chainEvents, BreakDeleted})
}

func TestChainDetectsSwappedRecords(t *testing.T) {
	for _, tc := range []struct{ a, b uint64 }{{4, 11}, {8, 9}, {1, chainEvents}} {
		t.Run(fmt.Sprintf("%d-%d", tc.a, tc.b), func(t *testing.T) {
			dir := t.TempDir()
			chainStore(t, dir)
			tamper(t, dir, func(db *pebble.DB) {
				ra, rb := mustGet(t, db, logKey(tc.a)), mustGet(t, db, logKey(tc.b))
				mustSet(t, db, logKey(tc.a), rb)
				mustSet(t, db, logKey(tc.b), ra)
			})
			breaks := verify(t, dir)
			checkBreaks(t, breaks, wantBreak{tc.a, BreakReordered}, wantBreak{tc.b, BreakReordered})
			if !strings.Contains(breaks[0].Detail, fmt.Sprintf("written at position %d", tc.b)) {
				t.Fatalf("detail %q does not say where the record was written", breaks[0].Detail)
			}
		})
	}
}

// A swap that also swaps the index entries is still found: the records
// are tried after one another's hashes.
func TestChainDetectsSwapWithIndexesFollowing(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		ea, eb := storedEvent(t, db, 6), storedEvent(t, db, 15)
		ra, rb := mustGet(t, db, logKey(6)), mustGet(t, db, logKey(15))
		mustSet(t, db, logKey(6), rb)
		mustSet(t, db, logKey(15), ra)
		mustSet(t, db, appendStreamKey(nil, ea.Stream, ea.Revision), appendU64(nil, 15))
		mustSet(t, db, appendStreamKey(nil, eb.Stream, eb.Revision), appendU64(nil, 6))
		mustSet(t, db, appendIDKey(nil, ea.ID[:]), appendU64(appendU64(nil, 15), ea.Revision))
		mustSet(t, db, appendIDKey(nil, eb.ID[:]), appendU64(appendU64(nil, 6), eb.Revision))
	})
	checkBreaks(t, verify(t, dir), wantBreak{6, BreakReordered}, wantBreak{15, BreakReordered})
}

func TestChainDetectsMovedRecord(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		rec := mustGet(t, db, logKey(9))
		mustDelete(t, db, logKey(9))
		mustSet(t, db, logKey(chainEvents+1), rec)
	})
	breaks := verify(t, dir)
	checkBreaks(t, breaks, wantBreak{chainEvents + 1, BreakReordered})
	if !strings.Contains(breaks[0].Detail, "now empty") {
		t.Fatalf("detail %q does not say the position was emptied", breaks[0].Detail)
	}
}

func TestChainDetectsInsertedRecord(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		// A forged record after the last one, chained properly.
		last := mustGet(t, db, logKey(chainEvents))
		var prev chainHash
		copy(prev[:], last[1:1+hashSize])
		forged, err := encodeRecord(nil, &record{Revision: 0, Stream: "person-forged", Event: testEvent(999)})
		if err != nil {
			t.Fatal(err)
		}
		newChainer().setChainHash(&prev, chainEvents+1, forged)
		mustSet(t, db, logKey(chainEvents+1), forged)
	})
	checkBreaks(t, verify(t, dir), wantBreak{chainEvents + 1, BreakInserted})
}

// A record put in place of one that is moved further on is inserted.
func TestChainDetectsRecordInsertedInPlace(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		mustSet(t, db, logKey(chainEvents+1), mustGet(t, db, logKey(20)))
		forged, err := encodeRecord(nil, &record{Revision: 9, Stream: "person-1", Event: testEvent(999)})
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, db, logKey(20), forged)
	})
	checkBreaks(t, verify(t, dir), wantBreak{20, BreakInserted}, wantBreak{chainEvents + 1, BreakReordered})
}

// A record edited together with its hash is found at the next record,
// which no longer follows.
func TestChainDetectsRecordReplacedWithItsHash(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		prevRec, rec := mustGet(t, db, logKey(16)), mustGet(t, db, logKey(17))
		i := bytes.LastIndex(rec, []byte(`"n":17}`))
		rec[i+5] = '9'
		var prev chainHash
		copy(prev[:], prevRec[1:1+hashSize])
		newChainer().setChainHash(&prev, 17, rec)
		mustSet(t, db, logKey(17), rec)
	})
	breaks := verify(t, dir)
	checkBreaks(t, breaks, wantBreak{18, BreakEdited})
	if !strings.Contains(breaks[0].Detail, "record before it was replaced") {
		t.Fatalf("detail %q does not name the record before", breaks[0].Detail)
	}
}

// The last record replaced with a recomputed hash is caught by the chain
// head.
func TestChainDetectsLastRecordReplaced(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		prevRec, rec := mustGet(t, db, logKey(chainEvents-1)), mustGet(t, db, logKey(chainEvents))
		i := bytes.LastIndex(rec, []byte(`"n":24}`))
		rec[i+5] = '5'
		var prev chainHash
		copy(prev[:], prevRec[1:1+hashSize])
		newChainer().setChainHash(&prev, chainEvents, rec)
		mustSet(t, db, logKey(chainEvents), rec)
	})
	checkBreaks(t, verify(t, dir), wantBreak{chainEvents, BreakEdited})
}

func TestChainDetectsDeletedIndexEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		pos  uint64
		key  func(ev eventstore.RecordedEvent) []byte
	}{
		{"stream", 6, func(ev eventstore.RecordedEvent) []byte { return appendStreamKey(nil, ev.Stream, ev.Revision) }},
		{"id", 12, func(ev eventstore.RecordedEvent) []byte { return appendIDKey(nil, ev.ID[:]) }},
		// person-2's last event: its head is gone.
		{"head", chainEvents, func(ev eventstore.RecordedEvent) []byte { return appendHeadKey(nil, ev.Stream) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			chainStore(t, dir)
			tamper(t, dir, func(db *pebble.DB) { mustDelete(t, db, tc.key(storedEvent(t, db, tc.pos))) })
			checkBreaks(t, verify(t, dir), wantBreak{tc.pos, BreakIndex})
		})
	}
}

func TestChainDetectsMovedIndexEntries(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	tamper(t, dir, func(db *pebble.DB) {
		// person-0@1 (position 2) pointed at person-0@2 (position 7).
		ev := storedEvent(t, db, 2)
		mustSet(t, db, appendStreamKey(nil, ev.Stream, ev.Revision), appendU64(nil, 7))
		// An id entry pointing past the log.
		ev = storedEvent(t, db, 3)
		mustSet(t, db, appendIDKey(nil, ev.ID[:]), appendU64(appendU64(nil, 100), ev.Revision))
	})
	checkBreaks(t, verify(t, dir),
		wantBreak{2, BreakIndex}, wantBreak{3, BreakIndex}, wantBreak{7, BreakIndex}, wantBreak{100, BreakIndex})
}

// VerifyChain reads a snapshot: appends going on meanwhile are not breaks.
func TestChainVerifiesWhileAppending(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Append(ctx, fmt.Sprintf("person-%d", g), eventstore.Any, testEvent(i), testEvent(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	for range 20 {
		breaks, err := s.VerifyChain(ctx, nil)
		if err != nil || len(breaks) > 0 {
			t.Fatalf("verify while appending: %v, %v", breaks, err)
		}
	}
}

func TestChainVerifyStopsWithItsContext(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, err := s.Append(t.Context(), "person-1", eventstore.Any, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.VerifyChain(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("verify with a done context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyChain(t.Context(), nil); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("verify a closed store: %v", err)
	}
}

// downgrade turns a store into one of format 2, as written before the
// chain: records of format 1, no chain keys.
func downgrade(t *testing.T, dir string) {
	t.Helper()
	tamper(t, dir, func(db *pebble.DB) {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
		if err != nil {
			t.Fatal(err)
		}
		b := db.NewBatch()
		for valid := it.First(); valid; valid = it.Next() {
			rec := it.Value()
			v1 := append([]byte{recordV1}, rec[1+hashSize:]...)
			if err := b.Set(it.Key(), v1, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			b.Set(keyFormat, []byte{storeFormatNoChain}, nil),
			b.Delete(keyChainStart, nil),
			b.Delete(keyChainHead, nil),
			b.Commit(pebble.Sync),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A store of format 2 is upgraded at open: its records are sealed, the
// chain starts after them, and all of it verifies.
func TestChainUpgradesStoreWithoutChain(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	downgrade(t, dir)

	s := openStore(t, dir)
	ctx := t.Context()
	got, err := s.ReadAll(ctx, 0, eventstore.Filter{}, 100)
	if err != nil || len(got) != chainEvents {
		t.Fatalf("read the upgraded store: %d events, %v", len(got), err)
	}
	res, err := s.Append(ctx, "person-0", eventstore.Exact(7), testEvent(25), testEvent(26))
	if err != nil || res.Position != chainEvents+2 {
		t.Fatalf("append to the upgraded store: %+v, %v", res, err)
	}
	breaks, err := s.VerifyChain(ctx, nil)
	if err != nil || len(breaks) != 0 {
		t.Fatalf("verify the upgraded store: %v, %v", breaks, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	tamper(t, dir, func(db *pebble.DB) {
		start, err := decodeChainPoint(mustGet(t, db, keyChainStart))
		if err != nil || start.pos != chainEvents {
			t.Fatalf("chain start %+v (%v), want %d", start, err, chainEvents)
		}
		if rec := mustGet(t, db, logKey(3)); rec[0] != recordV1 {
			t.Fatalf("a sealed record was rewritten to format %d", rec[0])
		}
	})
	checkBreaks(t, verify(t, dir))

	// A sealed record edited: the seal no longer holds.
	tamper(t, dir, func(db *pebble.DB) {
		rec := mustGet(t, db, logKey(3))
		i := bytes.LastIndex(rec, []byte(`"n":3}`))
		rec[i+4] = '4'
		mustSet(t, db, logKey(3), rec)
	})
	checkBreaks(t, verify(t, dir), wantBreak{chainEvents, BreakEdited})
}

// In the sealed part, a deleted record is still located.
func TestChainUpgradedStoreLocatesDeletion(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	downgrade(t, dir)
	openStore(t, dir).Close()
	tamper(t, dir, func(db *pebble.DB) { mustDelete(t, db, logKey(8)) })
	checkBreaks(t, verify(t, dir), wantBreak{8, BreakDeleted})
}

// ScanVerifying lends only what passes its filter, up to its position;
// a reader's error, or the check's before it reads the log, stops it and
// is what it returns.
func TestScanVerifyingFiltersAndStopsAtAnError(t *testing.T) {
	dir := t.TempDir()
	chainStore(t, dir)
	s, closeIt := reopen(t, dir)
	defer closeIt()
	ctx := t.Context()
	var got []eventstore.Position
	wait, err := s.ScanVerifying(ctx, 21, eventstore.Filter{StreamPrefixes: []string{"person-1"}}, func(e *eventstore.RecordedEvent) error {
		if e.Stream != "person-1" {
			t.Errorf("lent %s at %d", e.Stream, e.Position)
		}
		got = append(got, e.Position)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if breaks, err := wait(); err != nil || len(breaks) != 0 {
		t.Fatalf("check: %v %v", breaks, err)
	}
	// person-1 has 2 of each 6 events, and 21 and 22 of the last 6
	// (AppendMany): not 22, past the position asked for.
	if want := []eventstore.Position{3, 4, 9, 10, 15, 16, 21}; !slices.Equal(got, want) {
		t.Fatalf("lent %v, want %v", got, want)
	}

	stop := errors.New("the reader's own error")
	n := 0
	_, err = s.ScanVerifying(ctx, chainEvents, eventstore.Filter{}, func(e *eventstore.RecordedEvent) error {
		if n++; e.Position == 5 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 5 {
		t.Fatalf("ScanVerifying after %d events: %v, want the reader's error after 5", n, err)
	}

	// A check that ends before it reads the log (here its context is
	// over) lends nothing, and says why.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.ScanVerifying(cctx, chainEvents, eventstore.Filter{}, func(e *eventstore.RecordedEvent) error {
		t.Errorf("lent %d", e.Position)
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanVerifying with its context over: %v", err)
	}
}
