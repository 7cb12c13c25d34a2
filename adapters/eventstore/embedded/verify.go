package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// Kinds of ChainBreak.
const (
	// BreakEdited: the record at Position is not the one written there (a
	// byte of it changed) and is not a record written elsewhere.
	BreakEdited = "edited"
	// BreakDeleted: no record at Position, which the chain or the chain
	// head says was written.
	BreakDeleted = "deleted"
	// BreakReordered: the record at Position is intact but was written at
	// another position (named in Detail).
	BreakReordered = "reordered"
	// BreakInserted: the record at Position was never written by the
	// store: past the chain head, or in a place whose own record is found
	// elsewhere.
	BreakInserted = "inserted"
	// BreakIndex: a stream index, event-id index or stream head entry
	// disagrees with the log about the record at Position (missing,
	// pointing elsewhere, or pointing at a record of another stream,
	// revision or id).
	BreakIndex = "index"
)

// ChainBreak is one finding of VerifyChain.
type ChainBreak struct {
	// Position is the position in the global log the finding is about;
	// for a run of deleted records, the first of them.
	Position uint64
	// Kind is one of "edited", "deleted", "reordered", "inserted", "index".
	Kind string
	// Detail says what was found, in words.
	Detail string
}

func (b ChainBreak) String() string {
	return fmt.Sprintf("position %d: %s: %s", b.Position, b.Kind, b.Detail)
}

// verifyCheckEvery is how many records or index entries VerifyChain scans
// between checks of its context and calls of progress.
const verifyCheckEvery = 1 << 14

// maxVerifyPositions bounds the positions VerifyChain tracks (9 bytes
// each): a damaged chain head (or, without one, a log key far out) is an
// error rather than an allocation of that size.
const maxVerifyPositions = 1 << 34

// VerifyChain checks the log's hash chain (chain.go) and that the
// secondary indexes (stream index, event-id index, stream heads) agree with
// the log, and returns what it found, in position order; nothing for an
// untouched store. Each record is checked against the hash stored in the
// record before it, so an edit is located at the record edited; a record
// that does not follow is tried at the positions the indexes (or, among a
// few failures, the other failed records) suggest, which tells a moved
// record from an edited or inserted one. The chain head written at each
// commit shows records removed from the end.
//
// It reads one snapshot: appends may go on meanwhile and are not checked.
// The log, then each index, is read sequentially, the hashing done in a
// second goroutine; it keeps 9 bytes per position in memory. Close stops
// it (it then returns eventstore.ErrClosed).
//
// progress, when not nil, is called from time to time with the work done
// and to do, both in events (an event is done when its record and its two
// index entries are checked), and once at the end with done = total.
//
// An error means the check could not run to its end (context done, store
// closed, an I/O error), not that the store was tampered with.
func (s *Store) VerifyChain(ctx context.Context, progress func(done, total uint64)) ([]ChainBreak, error) {
	return s.verifyChain(ctx, progress, nil)
}

// ScanVerifying is VerifyChain that also lends fn the events up to upTo
// that pass filter, as Scan does, from the same read of the log: a reader
// of the whole log (audit verify's plan) and the check then read it once,
// not twice. fn runs on the caller's goroutine, in log order, on copies of
// the records the check has already hashed, while the check reads on.
// ScanVerifying returns once fn has had the whole log, the index checks
// going on; wait returns the check's findings. An error from fn, or one
// that stops the check before the log is read, stops the check and is
// returned by ScanVerifying itself.
func (s *Store) ScanVerifying(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter,
	fn func(*eventstore.RecordedEvent) error, progress func(done, total uint64)) (wait func() ([]ChainBreak, error), err error) {
	ctx, cancel := context.WithCancel(ctx)
	l := &logLender{upTo: upTo, filter: filter, in: interner{},
		batches: make(chan *hashBatch, hashBatches), free: make(chan *hashBatch, hashBatches)}
	type result struct {
		breaks []ChainBreak
		err    error
	}
	done := make(chan result, 1)
	go func() {
		breaks, err := s.verifyChain(ctx, progress, l)
		if !l.hashing {
			close(l.batches) // the check ended before it read the log
		}
		done <- result{breaks, err}
	}()
	if err := l.lendAll(fn, cancel); err != nil || !l.complete {
		cancel()
		r := <-done
		if err == nil {
			err = r.err
		}
		if err == nil {
			err = errors.New("verify chain: the log was not read to its end")
		}
		return nil, err
	}
	var (
		once sync.Once
		r    result
	)
	return func() ([]ChainBreak, error) {
		once.Do(func() {
			r = <-done
			cancel()
		})
		return r.breaks, r.err
	}, nil
}

// logLender hands the records the chain check reads to a reader of the log
// (ScanVerifying): the hasher passes each batch on once it has hashed it,
// and the lender gives it back to the hasher's pool once lent.
type logLender struct {
	upTo    eventstore.Position
	filter  eventstore.Filter
	in      interner
	batches chan *hashBatch // closed by the hasher at its end
	free    chan *hashBatch // the hasher's pool
	// Set by the check's goroutine before batches is closed: hashing, the
	// hasher started (and closes batches); complete, the log was read
	// to its end.
	hashing, complete bool
}

// lendAll lends fn the events of each batch that pass the filter, until
// the hasher closes batches. After an error it only gives the batches
// back, and stops the check.
func (l *logLender) lendAll(fn func(*eventstore.RecordedEvent) error, stop func()) error {
	var (
		err error
		ev  eventstore.RecordedEvent
	)
	for b := range l.batches {
		b.each(func(item *hashItem, rec []byte) {
			if err != nil || item.pos > l.upTo {
				return
			}
			var ok bool
			if ev, ok, err = decodeRecordData(rec, item.pos, &l.filter, l.in, true); err != nil {
				err = fmt.Errorf("scan the log: %w", err)
			} else if ok {
				err = fn(&ev)
			}
			if err != nil {
				stop()
			}
		})
		b.reset()
		l.free <- b
	}
	return err
}

func (s *Store) verifyChain(ctx context.Context, progress func(done, total uint64), lender *logLender) ([]ChainBreak, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	var breaks []ChainBreak
	err := s.view(func() error {
		snap := s.eng.db.NewSnapshot()
		defer snap.Close()
		v := &verifier{
			ctx:      ctx,
			closing:  s.closing,
			snap:     snap,
			progress: progress,
			chain:    newChainer(),
			seed:     maphash.MakeSeed(),
			lender:   lender,
		}
		var err error
		breaks, err = v.run()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify chain: %w", err)
	}
	return breaks, nil
}

// ChainHead returns the last position written and the chain hash after it.
// An auditor who keeps it elsewhere can later tell that the log up to that
// position was not rewritten as a whole, chain included.
func (s *Store) ChainHead(ctx context.Context) (eventstore.Position, [32]byte, error) {
	if err := s.usable(ctx); err != nil {
		return 0, [32]byte{}, err
	}
	var head chainPoint
	err := s.view(func() error {
		var (
			ok  bool
			err error
		)
		head, ok, err = readChainPoint(s.eng.db, keyChainHead)
		if err == nil && !ok {
			err = fmt.Errorf("%w: no chain head", errCorrupt)
		}
		return err
	})
	if err != nil {
		return 0, [32]byte{}, fmt.Errorf("chain head: %w", err)
	}
	return head.pos, head.hash, nil
}

// Flags kept per position.
const (
	fPresent      uint8 = 1 << iota // a log record is stored at the position
	fExplained                      // a chain break covers the position: its index entries are not checked
	fStreamSeen                     // a stream index entry points at it and agrees
	fIDSeen                         // an event-id index entry points at it and agrees
	fLastOfStream                   // the last entry of its stream in the stream index
	fHeadSeen                       // a stream head points at it and agrees
	fHeadNotLast                    // a stream head points at it, but the stream index goes on
)

type verifier struct {
	ctx      context.Context
	closing  <-chan struct{}
	snap     *pebble.Snapshot
	progress func(done, total uint64)
	chain    *chainer
	seed     maphash.Seed
	mh       maphash.Hash
	// lender, when not nil, is lent each record the log scan reads.
	lender *logLender

	start   chainPoint // keyChainStart
	head    chainPoint // keyChainHead
	hasHead bool
	// n is the last position tracked: the chain head's.
	n     uint64
	flags []uint8
	// fpStream and fpID fingerprint each record's (stream, revision) and
	// (id, revision), to be compared with what the indexes say.
	fpStream, fpID []uint32

	// failed are the records whose hash does not follow from the hash
	// stored before them.
	failed []failure
	// beyond are the log keys past n.
	beyond []uint64
	// sealBroken: the records before the chain no longer give its start.
	sealBroken bool

	scanned      uint64 // log records and index entries
	indexEntries uint64 // stream and event-id index entries, for progress
	breaks       []ChainBreak
	// indexBreaks are kept apart until the chain's breaks are known.
	indexBreaks []ChainBreak
	key         []byte
}

type failure struct {
	pos eventstore.Position
	// afterGap: the position before is empty, so the record could not be
	// checked against the hash before it.
	afterGap bool
	// origin is the position the record was written at, once found; 0 if
	// it is not a record of the chain.
	origin eventstore.Position
}

func (v *verifier) run() ([]ChainBreak, error) {
	if err := v.bounds(); err != nil {
		return nil, err
	}
	hs := startHasher(v.lender)
	err := v.scanLog(hs)
	if err == nil && v.lender != nil {
		v.lender.complete = true
	}
	hs.finish()
	// The index scans go on while the last records are hashed.
	if err == nil {
		err = v.scanIndexes(hs)
	}
	hs.wait()
	if err != nil {
		return nil, err
	}
	v.failed = append(v.failed, hs.failed...)
	slices.SortFunc(v.failed, func(a, b failure) int { return cmpPos(a.pos, b.pos) })
	if hs.sealBroken || v.start.pos > 0 && v.start.pos <= v.n && hs.seal.hash != v.start.hash {
		v.sealBroken = true
	}

	if err := v.classify(); err != nil {
		return nil, err
	}
	// Index findings at a position a chain break covers follow from it.
	for _, b := range v.indexBreaks {
		if !v.flag(b.Position, fExplained) {
			v.breaks = append(v.breaks, b)
		}
	}
	if err := v.unindexed(); err != nil {
		return nil, err
	}
	if v.progress != nil {
		v.progress(v.n, v.n)
	}
	slices.SortStableFunc(v.breaks, func(a, b ChainBreak) int { return cmpPos(a.Position, b.Position) })
	return v.breaks, nil
}

func cmpPos(a, b eventstore.Position) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (v *verifier) scanIndexes(hs *hasher) error {
	if err := v.scanStreamIndex(hs); err != nil {
		return err
	}
	if err := v.scanIDIndex(hs); err != nil {
		return err
	}
	return v.scanHeads(hs)
}

func (v *verifier) add(pos eventstore.Position, kind, format string, args ...any) {
	v.breaks = append(v.breaks, ChainBreak{Position: pos, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// addIndex notes an index entry that disagrees with the log; run drops it
// if a chain break at the same position explains it.
func (v *verifier) addIndex(pos eventstore.Position, format string, args ...any) {
	v.indexBreaks = append(v.indexBreaks, ChainBreak{Position: pos, Kind: BreakIndex, Detail: fmt.Sprintf(format, args...)})
}

// tick counts the log records and index entries scanned; every so often it
// reports progress and checks that the verification may go on. Progress
// counts three steps per event: its record hashed, its stream index entry
// and its event-id index entry checked.
func (v *verifier) tick(hs *hasher) error {
	v.scanned++
	if v.scanned%verifyCheckEvery != 0 {
		return nil
	}
	if v.progress != nil {
		v.progress(min((hs.hashed.Load()+v.indexEntries)/3, v.n), v.n)
	}
	return v.alive()
}

// alive returns why the verification must stop, if it must.
func (v *verifier) alive() error {
	if err := v.ctx.Err(); err != nil {
		return err
	}
	select {
	case <-v.closing:
		return eventstore.ErrClosed
	default:
		return nil
	}
}

// bounds reads the chain's start and head and sizes the tables.
func (v *verifier) bounds() error {
	start, ok, err := readChainPoint(v.snap, keyChainStart)
	if err != nil {
		if !errors.Is(err, errCorrupt) {
			return err
		}
		ok = false
	}
	if ok {
		v.start = start
	} else {
		v.add(0, BreakDeleted, "the chain's start (the last position without a chain hash and the hash after it) is missing or damaged; checking from position 1 and 32 zero bytes")
	}
	lastKey, err := lastLogPosition(v.snap)
	if err != nil {
		return err
	}
	v.head, v.hasHead, err = readChainPoint(v.snap, keyChainHead)
	if err != nil && !errors.Is(err, errCorrupt) {
		return err
	}
	if v.hasHead {
		v.n = v.head.pos
	} else {
		v.n = lastKey
		v.add(lastKey, BreakDeleted, "the chain head (the last position and hash, written at each commit) is missing or damaged: records removed from the end of the log cannot be told")
	}
	if v.n >= maxVerifyPositions {
		return fmt.Errorf("log of %d positions: more than this check can hold", v.n)
	}
	v.flags = make([]uint8, v.n+1)
	v.fpStream = make([]uint32, v.n+1)
	v.fpID = make([]uint32, v.n+1)
	return nil
}

func lastLogPosition(r pebble.Reader) (pos eventstore.Position, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for valid := it.Last(); valid; valid = it.Prev() {
		if len(it.Key()) == 9 {
			return u64(it.Key()[1:])
		}
	}
	return 0, it.Error()
}

// scanLog reads the log in order: notes gaps and fingerprints each record
// for the index checks, and hands the records to the hasher, which checks
// each against the hash stored before it.
func (v *verifier) scanLog(hs *hasher) (err error) {
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()

	var (
		prevPos  eventstore.Position // the last key scanned
		prevHash chainHash           // the hash stored there
		prevOK   bool                // whether it had one
	)
	for valid := it.First(); valid; valid = it.Next() {
		if err := v.tick(hs); err != nil {
			return err
		}
		key := it.Key()
		if len(key) != 9 {
			v.add(0, BreakInserted, "log key %x is not a position", key)
			continue
		}
		pos, _ := u64(key[1:])
		rec, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if pos == 0 {
			v.add(0, BreakInserted, "a record at position 0, where the log never writes")
			continue
		}

		if pos <= v.start.pos {
			// Before the chain: no hash of its own, sealed as a whole.
			hs.add(hashItem{pos: pos, sealed: true}, rec)
		} else {
			if prevPos <= v.start.pos {
				// The first record of the chain follows the start.
				prevPos, prevHash, prevOK = v.start.pos, v.start.hash, true
			}
			stored, ok := storedHash(rec)
			item := hashItem{pos: pos, prev: prevHash}
			switch {
			case !ok:
				v.failed = append(v.failed, failure{pos: pos})
				item.lendOnly = true
			case pos != prevPos+1 || !prevOK:
				v.failed = append(v.failed, failure{pos: pos, afterGap: true})
				item.lendOnly = true
			}
			if !item.lendOnly || v.lender != nil {
				hs.add(item, rec)
			}
			prevOK = ok
			if prevOK {
				copy(prevHash[:], stored)
			}
		}
		prevPos = pos

		if pos > v.n {
			v.beyond = append(v.beyond, pos)
			continue
		}
		v.flags[pos] |= fPresent
		v.fingerprint(pos, rec)
	}
	return it.Error()
}

// hasher checks records against the hash stored before them in a
// goroutine of its own, while the log scan goes on reading and the index
// scans follow: hashing is most of the cost of a verification.
type hasher struct {
	chain *chainer
	work  chan *hashBatch
	free  chan *hashBatch
	// lend, when not nil, takes each batch once hashed (logLender).
	lend chan *hashBatch
	done chan struct{}
	cur  *hashBatch
	// hashed counts the records checked, for progress.
	hashed atomic.Uint64

	// Read once done is closed.
	failed     []failure
	seal       chainPoint // the chain run over the records before its start
	sealBroken bool       // one of those is not of format 1
}

type hashBatch struct {
	items []hashItem
	buf   []byte // the records, one after the other
}

type hashItem struct {
	pos eventstore.Position
	// sealed: a record before the chain's start, which the seal runs over;
	// else a record stored after one that holds the hash prev.
	sealed bool
	// lendOnly: a record the log scan could not check against the hash
	// before it, queued only to be lent (logLender).
	lendOnly bool
	prev     chainHash
	end      int // the record ends at buf[end]
}

func (b *hashBatch) reset() { b.items, b.buf = b.items[:0], b.buf[:0] }

// each hands fn each record of the batch, in order.
func (b *hashBatch) each(fn func(item *hashItem, rec []byte)) {
	start := 0
	for i := range b.items {
		item := &b.items[i]
		fn(item, b.buf[start:item.end])
		start = item.end
	}
}

const (
	hashBatchRecords = 256
	hashBatches      = 16
)

func startHasher(l *logLender) *hasher {
	hs := &hasher{
		chain: newChainer(),
		work:  make(chan *hashBatch, hashBatches),
		free:  make(chan *hashBatch, hashBatches),
		done:  make(chan struct{}),
	}
	if l != nil {
		hs.free, hs.lend = l.free, l.batches
		l.hashing = true
	}
	for range hashBatches {
		hs.free <- &hashBatch{items: make([]hashItem, 0, hashBatchRecords)}
	}
	go hs.run()
	return hs
}

// add queues a record, copied: the iterator reuses its memory.
func (hs *hasher) add(item hashItem, rec []byte) {
	if hs.cur == nil {
		hs.cur = <-hs.free
	}
	b := hs.cur
	b.buf = append(b.buf, rec...)
	item.end = len(b.buf)
	b.items = append(b.items, item)
	if len(b.items) == hashBatchRecords {
		hs.work <- b
		hs.cur = nil
	}
}

// finish hands over the last batch and lets the hasher end once it has
// checked everything; wait waits for that.
func (hs *hasher) finish() {
	if hs.cur != nil && len(hs.cur.items) > 0 {
		hs.work <- hs.cur
	}
	hs.cur = nil
	close(hs.work)
}

func (hs *hasher) wait() { <-hs.done }

func (hs *hasher) run() {
	defer close(hs.done)
	if hs.lend != nil {
		defer close(hs.lend)
	}
	for b := range hs.work {
		b.each(func(item *hashItem, rec []byte) {
			switch {
			case item.lendOnly:
			case item.sealed:
				if h, ok := hs.chain.link(&hs.seal.hash, item.pos, rec); ok && rec[0] == recordV1 {
					hs.seal = chainPoint{pos: item.pos, hash: h}
				} else {
					hs.sealBroken = true
				}
			default:
				if h, _ := hs.chain.link(&item.prev, item.pos, rec); !sameHash(rec[1:1+hashSize], &h) {
					hs.failed = append(hs.failed, failure{pos: item.pos})
				}
			}
		})
		hs.hashed.Add(uint64(len(b.items)))
		if hs.lend != nil {
			hs.lend <- b
			continue
		}
		b.reset()
		hs.free <- b
	}
}

// fingerprint notes the record's (stream, revision) and (id, revision).
func (v *verifier) fingerprint(pos eventstore.Position, rec []byte) {
	h, err := decodeHeader(rec)
	if err != nil {
		return
	}
	d := h.rest
	d.bytes() // recorded_at
	id := d.fixed(16)
	if d.err != nil {
		return
	}
	v.fpStream[pos] = v.fp(h.stream, h.revision)
	v.fpID[pos] = v.fp(id, h.revision)
}

func (v *verifier) fp(b []byte, rev eventstore.Revision) uint32 {
	v.mh.SetSeed(v.seed)
	_, _ = v.mh.Write(b)
	var r [8]byte
	for i := range r {
		r[i] = byte(rev >> (56 - 8*i))
	}
	_, _ = v.mh.Write(r[:])
	return uint32(v.mh.Sum64())
}

// get reads a key of the snapshot; nil when absent.
func (v *verifier) get(key []byte) ([]byte, error) {
	val, closer, err := v.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(val), nil
}

// record reads the record at pos; nil when absent.
func (v *verifier) record(pos eventstore.Position) ([]byte, error) {
	v.key = appendLogKey(v.key[:0], pos)
	return v.get(v.key)
}

// storedHash returns the hash stored in the record at pos, or the start's
// hash for the position before the chain.
func (v *verifier) storedHash(pos eventstore.Position) (chainHash, bool, error) {
	if pos == v.start.pos {
		return v.start.hash, true, nil
	}
	var h chainHash
	rec, err := v.record(pos)
	if err != nil || rec == nil {
		return h, false, err
	}
	stored, ok := storedHash(rec)
	if !ok {
		return h, false, nil
	}
	copy(h[:], stored)
	return h, true, nil
}

// indexHints returns where the indexes say the event of a record was
// written: by its id, and by its stream and revision.
func (v *verifier) indexHints(rec []byte) ([]eventstore.Position, error) {
	h, err := decodeHeader(rec)
	if err != nil {
		return nil, nil
	}
	d := h.rest
	d.bytes()
	id := d.fixed(16)
	if d.err != nil {
		return nil, nil
	}
	var hints []eventstore.Position
	val, err := v.get(appendIDKey(nil, id))
	if err != nil {
		return nil, err
	}
	if pos, _, err := u64Pair(val); val != nil && err == nil {
		hints = append(hints, pos)
	}
	val, err = v.get(appendStreamKey(nil, string(h.stream), h.revision))
	if err != nil {
		return nil, err
	}
	if pos, err := u64(val); val != nil && err == nil && !slices.Contains(hints, pos) {
		hints = append(hints, pos)
	}
	return hints, nil
}

// maxSearched is the number of failed records up to which each is tried
// at the position of every other one and after its hash, not only where
// the indexes place it: a reordering that the indexes followed is still
// recognised.
const maxSearched = 64

// classify finds out, for each record whose hash did not follow, where it
// was written (if anywhere), and reports edits, moves, insertions and
// deletions.
func (v *verifier) classify() error {
	// Every failed record's stored hash and where the indexes place it;
	// the records themselves are read again when needed, so that a log
	// tampered with throughout does not take its size in memory.
	type suspect struct {
		stored    chainHash
		hasStored bool
		hints     []eventstore.Position
	}
	suspects := make([]suspect, len(v.failed))
	// placedAt: original position (by the indexes) -> failed records.
	placedAt := map[eventstore.Position][]int{}
	for i, f := range v.failed {
		if i%verifyCheckEvery == 0 {
			if err := v.alive(); err != nil {
				return err
			}
		}
		rec, err := v.record(f.pos)
		if err != nil {
			return err
		}
		hints, err := v.indexHints(rec)
		if err != nil {
			return err
		}
		sp := suspect{hints: hints}
		if stored, ok := storedHash(rec); ok {
			copy(sp.stored[:], stored)
			sp.hasStored = true
		}
		suspects[i] = sp
		for _, h := range hints {
			if h != f.pos {
				placedAt[h] = append(placedAt[h], i)
			}
		}
	}

	// Try each failed record at its own position and where the indexes
	// place it, after the hash stored before that position or any failed
	// record's hash that may have been written there.
	relocated := map[eventstore.Position]eventstore.Position{} // origin -> key
	for i := range v.failed {
		f, sp := &v.failed[i], &suspects[i]
		if !sp.hasStored {
			continue
		}
		if i%verifyCheckEvery == 0 {
			if err := v.alive(); err != nil {
				return err
			}
		}
		rec, err := v.record(f.pos)
		if err != nil {
			return err
		}
		positions := append([]eventstore.Position{f.pos}, sp.hints...)
		if len(v.failed) <= maxSearched {
			for _, g := range v.failed {
				positions = append(positions, g.pos)
			}
		}
		for k, m := range positions {
			if m <= v.start.pos || m > v.n || slices.Contains(positions[:k], m) {
				continue
			}
			var preds []chainHash
			if h, ok, err := v.storedHash(m - 1); err != nil {
				return err
			} else if ok {
				preds = append(preds, h)
			}
			for _, j := range placedAt[m-1] {
				preds = append(preds, suspects[j].stored)
			}
			if len(v.failed) <= maxSearched {
				for j := range suspects {
					preds = append(preds, suspects[j].stored)
				}
			}
			if v.accepts(preds, m, rec, &sp.stored) {
				f.origin = m
				break
			}
		}
		if f.origin != 0 && f.origin != f.pos {
			relocated[f.origin] = f.pos
		}
	}

	// What each failed record is.
	afterGap := map[eventstore.Position]bool{}
	for _, f := range v.failed {
		switch {
		case f.origin == f.pos:
			// Intact: a record before it was moved or removed.
			continue
		case f.afterGap && f.origin == 0 && relocated[f.pos] == 0:
			// Cannot be checked: its index entries still are.
			afterGap[f.pos] = true
			continue
		}
		v.explain(f.pos)
		switch {
		case f.origin != 0:
			v.explain(f.origin)
			what := v.describeAt(f.pos)
			if v.flag(f.origin, fPresent) {
				v.add(f.pos, BreakReordered, "holds %s, written at position %d", what, f.origin)
			} else {
				v.add(f.pos, BreakReordered, "holds %s, written at position %d, which is now empty", what, f.origin)
			}
		case f.pos > v.n:
			// Reported with the other keys past the head.
		case relocated[f.pos] != 0:
			v.add(f.pos, BreakInserted, "holds %s, which is not in the chain; the record written here is at position %d", v.describeAt(f.pos), relocated[f.pos])
		default:
			v.add(f.pos, BreakEdited, "%s does not hash to the chain: its content or hash changed, or the record before it was replaced together with its hash", v.describeAt(f.pos))
		}
	}
	for _, pos := range v.beyond {
		if origin, ok := v.originOf(pos); ok && origin != pos {
			continue // reported as reordered
		}
		rec, err := v.record(pos)
		if err != nil {
			return err
		}
		v.add(pos, BreakInserted, "holds %s, past the chain head at position %d", v.describe(rec), v.n)
	}

	// Empty positions whose record is nowhere else, in runs.
	for pos := uint64(1); pos <= v.n; pos++ {
		if v.flag(pos, fPresent) || relocated[pos] != 0 {
			continue
		}
		first := pos
		for pos < v.n && !v.flag(pos+1, fPresent) && relocated[pos+1] == 0 {
			pos++
		}
		for p := first; p <= pos; p++ {
			v.explain(p)
		}
		what := fmt.Sprintf("the record at position %d is missing", first)
		if pos > first {
			what = fmt.Sprintf("the records at positions %d to %d (%d) are missing", first, pos, pos-first+1)
		}
		if afterGap[pos+1] {
			them := "it"
			if pos > first {
				them = "them"
			}
			what += fmt.Sprintf("; the record after %s, at %d, cannot be checked against the hash before it", them, pos+1)
		}
		v.add(first, BreakDeleted, "%s", what)
	}

	if v.sealBroken && !v.anyBreakUpTo(v.start.pos, BreakDeleted) {
		v.add(v.start.pos, BreakEdited, "the records at positions 1 to %d, written before the hash chain (store upgraded from format 2), no longer hash to the seal recorded at the upgrade; they hold no hash of their own, so the change is located only where the indexes disagree", v.start.pos)
	}

	// The head: the last record must be the one the last commit wrote.
	if v.hasHead && v.head.pos > v.start.pos && v.flag(v.head.pos, fPresent) && !v.flag(v.head.pos, fExplained) {
		h, ok, err := v.storedHash(v.head.pos)
		if err != nil {
			return err
		}
		if !ok || h != v.head.hash {
			v.explain(v.head.pos)
			v.add(v.head.pos, BreakEdited, "the last record's hash is not the chain head written by the last commit: the record was replaced")
		}
	}
	return nil
}

// accepts tells whether rec, stored at position m after one of preds, has
// the hash it carries.
func (v *verifier) accepts(preds []chainHash, m eventstore.Position, rec []byte, stored *chainHash) bool {
	for i := range preds {
		if h, ok := v.chain.link(&preds[i], m, rec); ok && h == *stored {
			return true
		}
	}
	return false
}

func (v *verifier) failedIndex(pos eventstore.Position) int {
	i, _ := slices.BinarySearchFunc(v.failed, pos, func(f failure, p eventstore.Position) int {
		switch {
		case f.pos < p:
			return -1
		case f.pos > p:
			return 1
		}
		return 0
	})
	return i
}

func (v *verifier) originOf(pos eventstore.Position) (eventstore.Position, bool) {
	i := v.failedIndex(pos)
	if i < len(v.failed) && v.failed[i].pos == pos {
		return v.failed[i].origin, v.failed[i].origin != 0
	}
	return 0, false
}

func (v *verifier) anyBreakUpTo(pos eventstore.Position, kind string) bool {
	for _, b := range v.breaks {
		if b.Kind == kind && b.Position <= pos {
			return true
		}
	}
	return false
}

func (v *verifier) flag(pos eventstore.Position, f uint8) bool {
	return pos <= v.n && v.flags[pos]&f != 0
}

// explain marks a position covered by a chain break: its index entries
// follow from it and are not reported again.
func (v *verifier) explain(pos eventstore.Position) {
	if pos <= v.n {
		v.flags[pos] |= fExplained
	}
}

// describe names the event of a record for a report.
func (v *verifier) describe(rec []byte) string {
	if rec == nil {
		return "no record"
	}
	ev, _, err := decodeRecord(rec, 0, &eventstore.Filter{}, nil)
	if err != nil {
		return "an unreadable record"
	}
	return fmt.Sprintf("%s@%d (event %s, %s)", ev.Stream, ev.Revision, ev.ID, ev.Type)
}

// describeAt names the event stored at pos.
func (v *verifier) describeAt(pos eventstore.Position) string {
	rec, err := v.record(pos)
	if err != nil {
		return fmt.Sprintf("a record that cannot be read (%v)", err)
	}
	return v.describe(rec)
}

// indexed checks an index entry that says the record at pos has the given
// fingerprint; it returns false (after reporting) when it does not.
func (v *verifier) indexed(pos eventstore.Position, fp uint32, fps []uint32, what func() string) bool {
	switch {
	case pos == 0 || pos > v.n:
		if !slices.Contains(v.beyond, pos) {
			v.addIndex(pos, "%s points at position %d, outside the log (1 to %d)", what(), pos, v.n)
		}
		return false
	case v.flags[pos]&fPresent == 0:
		v.addIndex(pos, "%s points at position %d, which holds no record", what(), pos)
		return false
	case fps[pos] != fp:
		v.addIndex(pos, "%s points at position %d, which holds %s", what(), pos, v.describeAt(pos))
		return false
	}
	return true
}

// each hands fn every key under prefix in the snapshot with its value
// (read only when asked for), ticking the progress as it goes; it stops at
// fn's first error.
func (v *verifier) each(prefix byte, hs *hasher, fn func(key []byte, value func() ([]byte, error)) error) (err error) {
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	value := it.ValueAndErr // bound once: a method value made per key is an allocation
	for valid := it.First(); valid; valid = it.Next() {
		if err := v.tick(hs); err != nil {
			return err
		}
		if err := fn(it.Key(), value); err != nil {
			return err
		}
	}
	return it.Error()
}

// scanStreamIndex checks every stream index entry against the record it
// points at, and notes each stream's last entry for the heads.
func (v *verifier) scanStreamIndex(hs *hasher) error {
	var (
		stream  []byte
		lastPos eventstore.Position
	)
	endStream := func() {
		if lastPos != 0 && lastPos <= v.n {
			v.flags[lastPos] |= fLastOfStream
		}
		lastPos = 0
	}
	err := v.each(prefixStream, hs, func(key []byte, value func() ([]byte, error)) error {
		v.indexEntries++
		if len(key) < 2 || len(key) != 2+int(key[1])+8 {
			v.addIndex(0, "stream index key %x is malformed", key)
			return nil
		}
		name := key[2 : 2+int(key[1])]
		rev, _ := u64(key[2+int(key[1]):])
		if !bytes.Equal(name, stream) {
			endStream()
			stream = append(stream[:0], name...)
		}
		val, err := value()
		if err != nil {
			return err
		}
		pos, err := u64(val)
		if err != nil {
			v.addIndex(0, "stream index entry %s@%d: %v", name, rev, err)
			return nil
		}
		lastPos = pos
		if v.indexed(pos, v.fp(name, rev), v.fpStream, func() string { return fmt.Sprintf("the stream index entry %s@%d", name, rev) }) {
			v.flags[pos] |= fStreamSeen
		}
		return nil
	})
	if err != nil {
		return err
	}
	endStream()
	return nil
}

// scanIDIndex checks every event-id index entry against the record it
// points at.
func (v *verifier) scanIDIndex(hs *hasher) error {
	err := v.each(prefixID, hs, func(key []byte, value func() ([]byte, error)) error {
		v.indexEntries++
		if len(key) != 17 {
			v.addIndex(0, "event-id index key %x is malformed", key)
			return nil
		}
		val, err := value()
		if err != nil {
			return err
		}
		pos, rev, err := u64Pair(val)
		if err != nil {
			v.addIndex(0, "event-id index entry %s: %v", uuid.UUID(key[1:]), err)
			return nil
		}
		if v.indexed(pos, v.fp(key[1:], rev), v.fpID, func() string {
			return fmt.Sprintf("the event-id index entry %s (revision %d)", uuid.UUID(key[1:]), rev)
		}) {
			v.flags[pos] |= fIDSeen
		}
		return nil
	})
	return err
}

// scanHeads checks every stream head against the stream's last record.
func (v *verifier) scanHeads(hs *hasher) error {
	err := v.each(prefixHead, hs, func(key []byte, value func() ([]byte, error)) error {
		stream := key[1:]
		val, err := value()
		if err != nil {
			return err
		}
		last, pos, err := u64Pair(val)
		if err != nil {
			v.addIndex(0, "the head of stream %s: %v", stream, err)
			return nil
		}
		if !v.indexed(pos, v.fp(stream, last), v.fpStream, func() string { return fmt.Sprintf("the head of stream %s (revision %d)", stream, last) }) {
			return nil
		}
		v.flags[pos] |= fHeadSeen
		if v.flags[pos]&fLastOfStream == 0 {
			v.flags[pos] |= fHeadNotLast
		}
		return nil
	})
	return err
}

// unindexed reports the records that an index leaves out.
func (v *verifier) unindexed() error {
	for pos := uint64(1); pos <= v.n; pos++ {
		f := v.flags[pos]
		if f&fPresent == 0 || f&fExplained != 0 {
			continue
		}
		if pos%verifyCheckEvery == 0 {
			if err := v.ctx.Err(); err != nil {
				return err
			}
		}
		const all = fStreamSeen | fIDSeen
		if f&all == all && (f&fLastOfStream == 0 || f&fHeadSeen != 0) && f&fHeadNotLast == 0 {
			continue
		}
		rec, err := v.record(pos)
		if err != nil {
			return err
		}
		ev, _, err := decodeRecord(rec, pos, &eventstore.Filter{}, nil)
		if err != nil {
			continue // its hash failed: reported
		}
		var missing []string
		if f&fStreamSeen == 0 {
			missing = append(missing, fmt.Sprintf("no stream index entry for %s@%d", ev.Stream, ev.Revision))
		}
		if f&fIDSeen == 0 {
			missing = append(missing, fmt.Sprintf("no event-id index entry for event %s", ev.ID))
		}
		if f&fStreamSeen != 0 && f&fHeadNotLast != 0 {
			missing = append(missing, fmt.Sprintf("the head of %s says revision %d is its last, but the stream index goes on", ev.Stream, ev.Revision))
		}
		if f&fLastOfStream != 0 && f&fHeadSeen == 0 {
			head, err := v.get(appendHeadKey(nil, ev.Stream))
			if err != nil {
				return err
			}
			if head == nil {
				missing = append(missing, fmt.Sprintf("stream %s has no head", ev.Stream))
			}
			// Else the head points elsewhere, reported there.
		}
		if len(missing) > 0 {
			v.add(pos, BreakIndex, "%s", strings.Join(missing, "; "))
		}
	}
	return nil
}
