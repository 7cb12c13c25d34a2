package embedded

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// txWriter applies requests inside one write transaction. Each request is
// planned (expectations checked, duplicates found, revisions and positions
// assigned) before anything of it is written, so a failed request leaves
// the transaction as it found it.
type txWriter struct {
	log, streams, heads, ids *bolt.Bucket

	next       eventstore.Position
	recordedAt []byte
	arena      *arena
	scratch    []byte

	// Per-request plan, reused across requests.
	plan    []plannedEvent
	overlay map[string]head        // stream heads as planned so far
	newIDs  map[uuid.UUID]idTarget // ids planned so far
}

type plannedEvent struct {
	stream string
	rev    eventstore.Revision
	ev     *pendingEvent
}

type head struct {
	last   eventstore.Revision
	exists bool
}

type idTarget struct {
	pos eventstore.Position
	rev eventstore.Revision
}

func newTxWriter(tx *bolt.Tx, next eventstore.Position, now time.Time, a *arena) (*txWriter, error) {
	recordedAt, err := now.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("encode recorded_at %s: %w", now, err)
	}
	w := &txWriter{
		log:        tx.Bucket(bucketLog),
		streams:    tx.Bucket(bucketStreams),
		heads:      tx.Bucket(bucketHeads),
		ids:        tx.Bucket(bucketIDs),
		next:       next,
		recordedAt: recordedAt,
		arena:      a,
		overlay:    make(map[string]head),
		newIDs:     make(map[uuid.UUID]idTarget),
	}
	// Positions only grow: full pages make the log smaller and faster to scan.
	w.log.FillPercent = 1
	return w, nil
}

// apply plans and writes one request. reqErr is the request's own failure
// (nothing of it written); err is a storage failure that dooms the
// transaction.
func (w *txWriter) apply(r *request) (results []eventstore.AppendResult, reqErr, err error) {
	w.plan = w.plan[:0]
	clear(w.overlay)
	clear(w.newIDs)

	results = make([]eventstore.AppendResult, len(r.appends))
	for i := range r.appends {
		res, reqErr, err := w.planAppend(&r.appends[i])
		if err != nil || reqErr != nil {
			return nil, reqErr, err
		}
		results[i] = res
	}
	if err := w.write(); err != nil {
		return nil, nil, err
	}
	return results, nil, nil
}

func (w *txWriter) planAppend(a *streamAppend) (eventstore.AppendResult, error, error) {
	h, err := w.head(a.stream)
	if err != nil {
		return eventstore.AppendResult{}, nil, err
	}
	var (
		res     eventstore.AppendResult
		lastDup idTarget
		fresh   = make([]*pendingEvent, 0, len(a.events))
	)
	for i := range a.events {
		ev := &a.events[i]
		t, dup, err := w.lookupID(ev.id)
		if err != nil {
			return res, nil, err
		}
		if dup {
			res.Duplicates++
			lastDup = t
			continue
		}
		// Claimed now so that a repeated id later in the request is a duplicate.
		w.newIDs[ev.id] = idTarget{pos: w.next + uint64(len(w.plan)+len(fresh))}
		fresh = append(fresh, ev)
	}

	if len(fresh) == 0 && len(a.events) > 0 {
		// Every event is already stored: a retry, a no-op whatever the
		// expectation.
		res.Position = lastDup.pos
		res.NextRevision = h.last
		if !h.exists {
			res.NextRevision = lastDup.rev
		}
		return res, nil, nil
	}
	if !a.expected.Matches(h.last, h.exists) {
		return res, &eventstore.WrongExpectedRevisionError{
			Stream: a.stream, Expected: a.expected, Actual: h.last, Exists: h.exists,
		}, nil
	}
	if len(fresh) == 0 {
		// No events: only the expectation was checked.
		res.NextRevision = h.last
		if h.exists {
			res.Position, err = w.positionOf(a.stream, h.last)
		}
		return res, nil, err
	}

	rev := h.last + 1
	if !h.exists {
		rev = 0
	}
	for _, ev := range fresh {
		t := idTarget{pos: w.next + uint64(len(w.plan)), rev: rev}
		w.newIDs[ev.id] = t
		w.plan = append(w.plan, plannedEvent{stream: a.stream, rev: rev, ev: ev})
		res.NextRevision, res.Position = rev, t.pos
		rev++
	}
	w.overlay[a.stream] = head{last: res.NextRevision, exists: true}
	return res, nil, nil
}

// head returns the stream's head as planned by this request, else as stored.
func (w *txWriter) head(stream string) (head, error) {
	if h, ok := w.overlay[stream]; ok {
		return h, nil
	}
	v := w.heads.Get([]byte(stream))
	if v == nil {
		return head{}, nil
	}
	last, err := u64(v)
	if err != nil {
		return head{}, fmt.Errorf("head of %s: %w", stream, err)
	}
	return head{last: last, exists: true}, nil
}

// lookupID finds an event id planned by this request or already stored.
func (w *txWriter) lookupID(id uuid.UUID) (idTarget, bool, error) {
	if t, ok := w.newIDs[id]; ok {
		return t, true, nil
	}
	v := w.ids.Get(id[:])
	if v == nil {
		return idTarget{}, false, nil
	}
	pos, err := u64(v)
	if err != nil {
		return idTarget{}, false, fmt.Errorf("id %s: %w", id, err)
	}
	rec := w.log.Get(v)
	if rec == nil {
		return idTarget{}, false, fmt.Errorf("id %s: position %d: %w: missing record", id, pos, errCorrupt)
	}
	rev, err := decodeRevision(rec)
	if err != nil {
		return idTarget{}, false, fmt.Errorf("id %s: position %d: %w", id, pos, err)
	}
	return idTarget{pos: pos, rev: rev}, true, nil
}

func (w *txWriter) positionOf(stream string, rev eventstore.Revision) (eventstore.Position, error) {
	v := w.streams.Get(streamKey(stream, rev))
	if v == nil {
		return 0, fmt.Errorf("%s@%d: %w: missing index entry", stream, rev, errCorrupt)
	}
	return u64(v)
}

// write puts the planned events and heads. bbolt keeps the key and value
// slices until commit, so they come from an arena that is never reused.
func (w *txWriter) write() error {
	for _, p := range w.plan {
		pos := w.next
		w.scratch = appendHeader(w.scratch[:0], p.rev, p.stream, w.recordedAt)
		rec := w.arena.copy(w.scratch, p.ev.body)
		posKey := w.arena.copy(appendU64(w.scratch[:0], pos))
		if err := w.log.Put(posKey, rec); err != nil {
			return fmt.Errorf("put position %d: %w", pos, err)
		}
		w.scratch = appendU64(appendStreamPrefix(w.scratch[:0], p.stream), p.rev)
		if err := w.streams.Put(w.arena.copy(w.scratch), posKey); err != nil {
			return fmt.Errorf("put %s@%d: %w", p.stream, p.rev, err)
		}
		if err := w.ids.Put(w.arena.copy(p.ev.id[:]), posKey); err != nil {
			return fmt.Errorf("put id %s: %w", p.ev.id, err)
		}
		w.next++
	}
	for stream, h := range w.overlay {
		v := w.arena.copy(appendU64(w.scratch[:0], h.last))
		if err := w.heads.Put([]byte(stream), v); err != nil {
			return fmt.Errorf("put head of %s: %w", stream, err)
		}
	}
	return nil
}

// arena hands out byte slices that stay untouched until reset, which the
// writer does between transactions: bbolt holds them only until the
// transaction ends. Chunks are kept for the next transaction, so a steady
// load allocates nothing.
type arena struct {
	chunks [][]byte
	cur    int // chunk being filled
}

const arenaChunk = 256 << 10

func (a *arena) copy(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < n {
		a.cur++
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, max(n, arenaChunk)))
	}
	c := a.chunks[a.cur]
	start := len(c)
	for _, p := range parts {
		c = append(c, p...)
	}
	a.chunks[a.cur] = c
	return c[start:len(c):len(c)]
}

// reset makes the chunks reusable; big one-off chunks are let go.
func (a *arena) reset() {
	kept := a.chunks[:0]
	for _, c := range a.chunks {
		if cap(c) == arenaChunk && len(kept) < maxKeptChunks {
			kept = append(kept, c[:0])
		}
	}
	clear(a.chunks[len(kept):])
	a.chunks, a.cur = kept, 0
}

// maxKeptChunks bounds the memory the writer keeps between transactions.
const maxKeptChunks = 16
