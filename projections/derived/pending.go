package derived

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/google/btree"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// Writing behind. A read model's rows are keyed by random ids, so each
// change dirties a page of its own and its branch pages, and each commit
// writes every dirty page with a system call of its own: committing each
// batch the fold takes (a few dozen events in a burst, so that readers see
// them within milliseconds) cost the cabinet 2.4 pages an event. Pending
// keeps what the fold has written, and readers see, in memory, and commits
// it to the file, with the checkpoint, in one transaction every
// CommitEvery: the writes of many batches then share their pages.
//
// Readers (View) see the file under the layers not yet committed, the
// newest first, so a batch is visible as soon as it is merged, and a
// position published once merged is what a reader gets. A crash loses only
// what the file has not taken, which the fold reads again from the file's
// checkpoint, as it always has for a file behind the log.

// CommitEvery is how long the writes of merged batches wait, at most, for
// their commit once nothing forces it sooner (Flush, a layer over
// pendingBytes). Long enough that batches share their pages (the
// register wrote 43% fewer in a burst, 65% fewer at 500 life events/s,
// docs/performance.md), short enough that a crash leaves little to fold
// again.
const CommitEvery = 500 * time.Millisecond

const (
	// pendingBytes is the size of writes at which a commit starts at once.
	pendingBytes = 64 << 20
	// pendingLimit is the size at which a fold waits for the commit in
	// flight, so that a file slower than the fold bounds the memory.
	pendingLimit = 4 * pendingBytes
)

// Pending is a read model's writes that its file has not yet taken. Its
// fold writes through Fold and Merge; readers read through Read; commits
// run on their own (Run) or when asked (Flush). Safe for concurrent use,
// but a single fold may Merge at a time.
type Pending struct {
	meta  []byte        // the bucket of the file's checkpoint
	every time.Duration // how long merged writes wait for their commit

	// mu guards the layers: Merge and the sealing of a layer write them,
	// readers read them. A reader holds it for its whole read, so that
	// the layers it reads and the file's transaction agree (see View).
	mu     sync.RWMutex
	open   *layer // takes merged batches
	sealed *layer // being committed, nil when none
	// committed is the checkpoint in the file.
	committed eventstore.Position
	// err is the last commit's failure, until one succeeds.
	err error

	// commit is held by a commit from sealing its layer to dropping it,
	// and by Drop; closed: no more commits (after Close). The fold never
	// waits for it but where the layers outgrow the commits (Merge).
	commit sync.Mutex
	closed bool

	kick chan struct{}
}

// NewPending returns an empty Pending for a file whose checkpoint, in the
// bucket meta, is committed; Run commits what is merged after every (0:
// CommitEvery).
func NewPending(meta []byte, committed eventstore.Position, every time.Duration) *Pending {
	if every <= 0 {
		every = CommitEvery
	}
	return &Pending{meta: meta, every: every, open: newLayer(), committed: committed, kick: make(chan struct{}, 1)}
}

// layer is writes of one or more batches: per bucket, each key's last
// value, or its deletion.
type layer struct {
	buckets map[string]*btree.BTreeG[item]
	// last is the position the layer's batches reach (0: none merged).
	last eventstore.Position
	// since is when the first batch was merged into the layer.
	since time.Time
	size  int
}

type item struct {
	key     string
	val     []byte
	deleted bool
}

func itemLess(a, b item) bool { return a.key < b.key }

func newLayer() *layer { return &layer{buckets: map[string]*btree.BTreeG[item]{}} }

func (l *layer) set(bucket []byte, it item) {
	t, ok := l.buckets[string(bucket)]
	if !ok {
		t = btree.NewG(16, itemLess)
		l.buckets[string(bucket)] = t
	}
	t.ReplaceOrInsert(it)
	l.size += len(it.key) + len(it.val) + 64
}

func (l *layer) get(bucket, key []byte) (item, bool) {
	t, ok := l.buckets[string(bucket)]
	if !ok {
		return item{}, false
	}
	return t.Get(item{key: lookupKey(key)})
}

// lookupKey is key as a string for a look-up, without a copy: the item it
// makes only lives for the look-up, and key does not change meanwhile. A
// copy was an allocation per layer for every read of a row.
func lookupKey(key []byte) string { return unsafe.String(unsafe.SliceData(key), len(key)) }

// withPrefix calls fn for each of the layer's items under prefix, in key order.
func (l *layer) withPrefix(bucket, prefix []byte, fn func(item)) {
	t, ok := l.buckets[string(bucket)]
	if !ok {
		return
	}
	t.AscendGreaterOrEqual(item{key: lookupKey(prefix)}, func(it item) bool {
		if !hasPrefix(it.key, prefix) {
			return false
		}
		fn(it)
		return true
	})
}

func hasPrefix(key string, prefix []byte) bool {
	return len(key) >= len(prefix) && key[:len(prefix)] == string(prefix)
}

// View reads a file under the layers it has not taken yet.
type View struct {
	layers []*layer // newest first
	tx     *bolt.Tx
}

// Get is key's value in bucket (nil when absent), valid as long as the
// read (or, for a batch, until it is merged).
func (v *View) Get(bucket, key []byte) []byte {
	for _, l := range v.layers {
		if it, ok := l.get(bucket, key); ok {
			return it.val // nil when deleted
		}
	}
	return v.tx.Bucket(bucket).Get(key)
}

// ErrStopScan, returned by Scan's fn, ends the scan early: Scan then
// returns nil.
var ErrStopScan = errors.New("stop the scan")

// Scan calls fn for every key of bucket starting with prefix, in key order
// or, when reverse, in reverse key order, until fn fails. The file's keys
// and the layers' are merged as they come, so a scan fn stops early reads
// no further.
func (v *View) Scan(bucket, prefix []byte, reverse bool, fn func(k, v []byte) error) error {
	over := v.overlay(bucket, prefix)
	if reverse {
		slices.Reverse(over)
	}
	file := fileCursor{c: v.tx.Bucket(bucket).Cursor(), prefix: prefix, reverse: reverse}
	file.first()
	for file.k != nil || len(over) > 0 {
		var c int
		switch {
		case file.k == nil:
			c = 1
		case len(over) == 0:
			c = -1
		default:
			c = strings.Compare(string(file.k), over[0].key)
			if reverse {
				c = -c
			}
		}
		var err error
		switch {
		case c < 0:
			err = fn(file.k, file.v)
		case !over[0].deleted: // the layer's value (or deletion) wins
			err = fn([]byte(over[0].key), over[0].val)
		}
		if errors.Is(err, ErrStopScan) {
			return nil
		}
		if err != nil {
			return err
		}
		if c <= 0 {
			file.next()
		}
		if c >= 0 {
			over = over[1:]
		}
	}
	return nil
}

// overlay is the layers' items under prefix in bucket, in key order, each
// key's from the newest layer that has it.
func (v *View) overlay(bucket, prefix []byte) []item {
	var found []item
	for _, l := range v.layers {
		l.withPrefix(bucket, prefix, func(it item) { found = append(found, it) })
	}
	if len(v.layers) < 2 {
		return found // one layer: in order, each key once
	}
	// Stable: of equal keys, the newest layer's (listed first) stays first.
	slices.SortStableFunc(found, func(a, b item) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(found, func(a, b item) bool { return a.key == b.key })
}

// fileCursor walks a bucket's keys under a prefix, either way.
type fileCursor struct {
	c       *bolt.Cursor
	prefix  []byte
	reverse bool
	k, v    []byte // the current key and value; k nil at the end
}

func (f *fileCursor) first() {
	switch {
	case !f.reverse:
		f.k, f.v = f.c.Seek(f.prefix)
	default:
		end := prefixEnd(f.prefix)
		if end != nil {
			f.k, f.v = f.c.Seek(end)
		}
		if end == nil || f.k == nil {
			f.k, f.v = f.c.Last()
		} else {
			f.k, f.v = f.c.Prev()
		}
	}
	f.check()
}

func (f *fileCursor) next() {
	if f.reverse {
		f.k, f.v = f.c.Prev()
	} else {
		f.k, f.v = f.c.Next()
	}
	f.check()
}

func (f *fileCursor) check() {
	if f.k != nil && !bytes.HasPrefix(f.k, f.prefix) {
		f.k, f.v = nil, nil
	}
}

// prefixEnd is the first key after every key with prefix (nil: none).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Read runs fn with a view of db (the handle's file) under the layers. The
// layers are held for the read, so a commit that lands meanwhile (the file
// then holds what a layer held) cannot drop a layer the read still needs.
func (p *Pending) Read(h *Handle, fn func(v *View) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	layers := p.layers()
	return h.View(func(tx *bolt.Tx) error { return fn(&View{layers: layers, tx: tx}) })
}

// layers is the layers newest first; mu held.
func (p *Pending) layers() []*layer {
	if p.sealed == nil {
		return []*layer{p.open}
	}
	return []*layer{p.open, p.sealed}
}

// Batch is one batch of a fold: a view of the file under the layers, and
// under the batch's own writes, which Merge makes visible to readers.
type Batch struct {
	View
	writes *layer
}

// Fold runs fn, one batch of the fold, in a read transaction of db (the
// handle's file) under the layers, and returns the batch for Merge. The
// layers are taken before the transaction begins: a layer a commit drops
// meanwhile is then in the file the transaction reads.
func (p *Pending) Fold(db *bolt.DB, fn func(b *Batch) error) (*Batch, error) {
	p.mu.RLock()
	layers := p.layers()
	p.mu.RUnlock()
	w := newLayer()
	b := &Batch{View: View{layers: append([]*layer{w}, layers...)}, writes: w}
	err := db.View(func(tx *bolt.Tx) error {
		b.tx = tx
		defer func() { b.tx = nil }()
		return fn(b)
	})
	return b, err
}

// Put sets key to a copy of val.
func (b *Batch) Put(bucket, key, val []byte) {
	b.writes.set(bucket, item{key: string(key), val: bytes.Clone(val)})
}

// Delete removes key.
func (b *Batch) Delete(bucket, key []byte) {
	b.writes.set(bucket, item{key: string(key), deleted: true})
}

// Merge makes the batch's writes (none when b is nil) visible, the file
// at last: readers see them from now on, and the next commit takes them
// with last as the checkpoint. When the layers have grown past what a
// commit in flight can keep up with, Merge waits for it and commits into
// db (the handle's file).
func (p *Pending) Merge(b *Batch, last eventstore.Position, db *bolt.DB) error {
	p.mu.Lock()
	o := p.open
	if b != nil {
		for name, t := range b.writes.buckets {
			t.Ascend(func(it item) bool {
				o.set([]byte(name), it)
				return true
			})
		}
	}
	if o.last == 0 {
		o.since = time.Now()
	}
	o.last = max(o.last, last)
	size := o.size
	p.mu.Unlock()
	switch {
	case size >= pendingLimit:
		return p.Flush(db)
	case size >= pendingBytes:
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	return p.Err()
}

// Err is the error of the last commit, if it failed: the fold stops on it.
func (p *Pending) Err() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.err
}

// Run commits the layers into the handle's file once they are as old as
// NewPending said (sooner when Merge asks), until ctx is done.
func (p *Pending) Run(ctx context.Context, h *Handle) {
	tick := time.NewTicker(p.every / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.commitIf(h.DB, func(l *layer) bool { return time.Since(l.since) >= p.every })
		case <-p.kick:
			p.commitIf(h.DB, func(*layer) bool { return true })
		}
	}
}

// Flush commits every layer into db now.
func (p *Pending) Flush(db *bolt.DB) error {
	p.commitIf(func() *bolt.DB { return db }, func(*layer) bool { return true })
	return p.Err()
}

// commitIf commits into db a layer a failed commit left sealed, then the
// open layer if it holds anything past the checkpoint and due says so.
func (p *Pending) commitIf(db func() *bolt.DB, due func(*layer) bool) {
	p.commit.Lock()
	defer p.commit.Unlock()
	for !p.closed {
		p.mu.Lock()
		if p.sealed == nil && p.open.last > p.committed && due(p.open) {
			p.sealed, p.open = p.open, newLayer()
		}
		l := p.sealed
		p.mu.Unlock()
		if l == nil {
			return
		}
		if err := p.write(db(), l); err != nil {
			// The layer stays sealed, and visible: the next commit
			// tries it again.
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		p.sealed, p.committed, p.err = nil, l.last, nil
		p.mu.Unlock()
	}
}

// write commits l into db, with its checkpoint.
func (p *Pending) write(db *bolt.DB, l *layer) error {
	err := db.Update(func(tx *bolt.Tx) error {
		for name, t := range l.buckets {
			b := tx.Bucket([]byte(name))
			if b == nil {
				return fmt.Errorf("no bucket %q", name)
			}
			var err error
			t.Ascend(func(it item) bool {
				if it.deleted {
					err = b.Delete([]byte(it.key))
				} else {
					err = b.Put([]byte(it.key), it.val)
				}
				return err == nil
			})
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
		return SetCheckpoint(tx, p.meta, l.last)
	})
	if err != nil {
		return fmt.Errorf("commit the writes up to %d: %w", l.last, err)
	}
	return nil
}

// Drop forgets every layer, once a commit in flight is done: the file is
// emptied, to be folded again.
func (p *Pending) Drop() {
	p.commit.Lock()
	defer p.commit.Unlock()
	p.forget(0)
}

// dropFor forgets every layer, which next, the file now read in place of
// theirs, holds with its checkpoint; the commits are held (commit locked).
func (p *Pending) dropFor(next *bolt.DB) error {
	var committed eventstore.Position
	err := next.View(func(tx *bolt.Tx) (err error) {
		committed, err = Checkpoint(tx, p.meta)
		return err
	})
	if err != nil {
		return fmt.Errorf("the new file's checkpoint: %w", err)
	}
	p.forget(committed)
	return nil
}

// forget empties the layers of a file whose checkpoint is committed.
func (p *Pending) forget(committed eventstore.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open, p.sealed, p.committed, p.err = newLayer(), nil, committed, nil
}

// Close flushes the layers into db and takes no more commits.
func (p *Pending) Close(db *bolt.DB) error {
	err := p.Flush(db)
	p.commit.Lock()
	defer p.commit.Unlock()
	p.closed = true
	if err != nil {
		return errors.Join(err, errors.New("the last writes are not in the file: it is folded again from its checkpoint"))
	}
	return nil
}
