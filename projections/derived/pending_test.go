package derived

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

var (
	testMeta = []byte("meta")
	testRows = []byte("rows")
)

func openTestFile(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := OpenFile(filepath.Join(t.TempDir(), "model.db"), func(tx *bolt.Tx) error {
		return CreateBuckets(tx, [][]byte{testMeta, testRows})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// model is what the rows bucket should read as.
type model map[string]string

// check compares every read a fold or reader makes (Get of present and
// absent keys, Scan of prefixes both ways) with the model.
func (m model) check(t *testing.T, v *View, prefixes []string) {
	t.Helper()
	for k, want := range m {
		if got := v.Get(testRows, []byte(k)); string(got) != want {
			t.Fatalf("Get(%q) = %q, want %q", k, got, want)
		}
	}
	if got := v.Get(testRows, []byte("absent")); got != nil {
		t.Fatalf("Get of an absent key = %q", got)
	}
	for _, prefix := range prefixes {
		var want []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k+"="+m[k])
			}
		}
		for _, reverse := range []bool{false, true} {
			var got []string
			err := v.Scan(testRows, []byte(prefix), reverse, func(k, val []byte) error {
				got = append(got, string(k)+"="+string(val))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if reverse {
				slices.Reverse(got)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Scan(%q, reverse %v) = %v, want %v", prefix, reverse, got, want)
			}
			// A scan stopped early gives what it had, and no error.
			var first []string
			err = v.Scan(testRows, []byte(prefix), reverse, func(k, val []byte) error {
				first = append(first, string(k)+"="+string(val))
				if len(first) == 2 {
					return ErrStopScan
				}
				return nil
			})
			inOrder := slices.Clone(want)
			if reverse {
				slices.Reverse(inOrder)
			}
			if wantFirst := inOrder[:min(2, len(inOrder))]; err != nil || !slices.Equal(first, wantFirst) {
				t.Fatalf("Scan(%q, reverse %v) stopped after two = %v (%v), want %v", prefix, reverse, first, err, wantFirst)
			}
		}
	}
}

// TestPendingReadsAsTheFileWillHoldIt folds random batches of puts and
// deletes (over keys sharing prefixes, some ending in 0xff) and checks that
// every read sees what the model holds, with layers sealed and committed
// at random, and that the file alone holds it all once flushed, with the
// checkpoint.
func TestPendingReadsAsTheFileWillHoldIt(t *testing.T) {
	db := openTestFile(t)
	p := NewPending(testMeta, 0, 0)
	h := NewHandle(db)
	rng := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"", "a", "a\x00", "a\x00d", "b\xff", "b\xff\xff", "c"}
	key := func() string {
		return prefixes[1+rng.IntN(len(prefixes)-1)] + fmt.Sprint(rng.IntN(20))
	}
	m := model{}
	var pos eventstore.Position
	for round := range 300 {
		want := maps.Clone(m)
		b, err := p.Fold(db, func(b *Batch) error {
			for range 1 + rng.IntN(8) {
				k := key()
				if rng.IntN(3) == 0 {
					b.Delete(testRows, []byte(k))
					delete(want, k)
					continue
				}
				v := fmt.Sprintf("v%d", round)
				b.Put(testRows, []byte(k), []byte(v))
				want[k] = v
			}
			// The batch reads its own writes.
			want.check(t, &b.View, prefixes)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Readers see nothing of a batch until it is merged.
		if err := p.Read(h, func(v *View) error { m.check(t, v, prefixes); return nil }); err != nil {
			t.Fatal(err)
		}
		pos++
		if err := p.Merge(b, pos, db); err != nil {
			t.Fatal(err)
		}
		m = want
		switch rng.IntN(6) {
		case 0: // a commit lands
			if err := p.Flush(db); err != nil {
				t.Fatal(err)
			}
		case 1: // a commit is under way: its layer is sealed, not yet dropped
			p.mu.Lock()
			if p.sealed == nil {
				p.sealed, p.open = p.open, newLayer()
			}
			p.mu.Unlock()
		}
		if err := p.Read(h, func(v *View) error { m.check(t, v, prefixes); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(db); err != nil {
		t.Fatal(err)
	}
	if p.sealed != nil || p.open.size != 0 {
		t.Fatal("layers left after a flush")
	}
	err := db.View(func(tx *bolt.Tx) error {
		m.check(t, &View{tx: tx}, prefixes)
		if got, err := Checkpoint(tx, testMeta); err != nil || got != pos {
			t.Fatalf("checkpoint = %d (%v), want %d", got, err, pos)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPendingCommitsBehind checks that a merged batch is visible at once,
// that the file takes it later with its checkpoint (Run), and that a
// layer whose commit failed stays visible and is committed again.
func TestPendingCommitsBehind(t *testing.T) {
	db := openTestFile(t)
	h := NewHandle(db)
	p := NewPending(testMeta, 0, 0)
	merge := func(pos eventstore.Position, k, v string) {
		t.Helper()
		b, err := p.Fold(db, func(b *Batch) error { b.Put(testRows, []byte(k), []byte(v)); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Merge(b, pos, db); err != nil {
			t.Fatal(err)
		}
	}
	inFile := func() (string, eventstore.Position) {
		var v string
		var pos eventstore.Position
		err := db.View(func(tx *bolt.Tx) (err error) {
			v = string(tx.Bucket(testRows).Get([]byte("k")))
			pos, err = Checkpoint(tx, testMeta)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return v, pos
	}
	visible := func() string {
		var got string
		_ = p.Read(h, func(v *View) error { got = string(v.Get(testRows, []byte("k"))); return nil })
		return got
	}

	merge(7, "k", "one")
	if got := visible(); got != "one" {
		t.Fatalf("visible after the merge: %q", got)
	}
	if v, pos := inFile(); v != "" || pos != 0 {
		t.Fatalf("the file took the write at once: %q at %d", v, pos)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, h) }()
	deadline := time.Now().Add(20 * CommitEvery)
	for {
		if v, pos := inFile(); v == "one" && pos == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file never took the write")
		}
		time.Sleep(CommitEvery / 10)
	}
	cancel()
	<-done
	p.mu.RLock()
	committed := p.committed
	p.mu.RUnlock()
	if committed != 7 {
		t.Fatalf("committed = %d, want 7", committed)
	}

	// A commit that fails leaves its layer sealed and readable.
	merge(9, "k", "two")
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(testRows) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(db); err == nil {
		t.Fatal("a commit into a missing bucket succeeded")
	}
	if err := p.Merge(nil, 10, db); err == nil {
		t.Fatal("the fold goes on after a failed commit")
	}
	if got := visible(); got != "two" {
		t.Fatalf("visible after a failed commit: %q", got)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(testRows); return err }); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(db); err != nil {
		t.Fatal(err)
	}
	if v, pos := inFile(); v != "two" || pos != 10 {
		t.Fatalf("after the retry the file holds %q at %d, want two at 10", v, pos)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte("ab"), []byte("ac")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("\xff\xff"), nil},
		{nil, nil},
	} {
		if got := prefixEnd(c.in); !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("prefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// BenchmarkViewGet reads keys through two layers of 10,000 writes each,
// half of them found in a layer and half in the file: what a fold's reads
// of rows cost above the file.
func BenchmarkViewGet(b *testing.B) {
	db, err := OpenFile(filepath.Join(b.TempDir(), "model.db"), func(tx *bolt.Tx) error {
		return CreateBuckets(tx, [][]byte{testMeta, testRows})
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key := func(i int) []byte { return fmt.Appendf(nil, "%08x-person", i*2654435761%(1<<31)) }
	if err := db.Update(func(tx *bolt.Tx) error {
		for i := range 20000 {
			if err := tx.Bucket(testRows).Put(key(i), []byte("in the file")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	p := NewPending(testMeta, 0, time.Hour)
	for layer := range 2 {
		batch, err := p.Fold(db, func(bt *Batch) error {
			for i := layer * 10000; i < (layer+1)*10000; i++ {
				bt.Put(testRows, key(i), []byte("in a layer"))
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Merge(batch, eventstore.Position(layer+1), db); err != nil {
			b.Fatal(err)
		}
		if layer == 0 { // it waits for its commit, sealed
			p.mu.Lock()
			p.sealed, p.open = p.open, newLayer()
			p.mu.Unlock()
		}
	}
	keys := make([][]byte, 40000)
	for i := range keys {
		keys[i] = key(i)
	}
	h := NewHandle(db)
	b.ReportAllocs()
	err = p.Read(h, func(v *View) error {
		for i := 0; b.Loop(); i++ {
			if v.Get(testRows, keys[i%len(keys)]) == nil && i%len(keys) < 20000 {
				return fmt.Errorf("key %d not found", i%len(keys))
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
