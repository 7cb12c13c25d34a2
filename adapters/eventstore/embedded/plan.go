package embedded

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// planner turns the requests of one commit into a Pebble batch. Each
// request is planned (expectations checked, duplicates found, revisions and
// positions assigned) before anything of it is written, so a failed request
// leaves the batch as it found it. A batch is not visible to reads of the
// database, so the planner keeps what earlier requests of the commit wrote
// (heads, ids) in maps of its own.
type planner struct {
	db         lookup
	cache      headCache
	batch      *pebble.Batch
	next       eventstore.Position
	recordedAt []byte
	key, val   []byte
	// chain is the chain hash of the record before next.
	chain   chainHash
	chainer *chainer

	// Written by earlier requests of this commit.
	heads map[string]head
	ids   map[uuid.UUID]idTarget

	// The request being planned.
	plan     []plannedEvent
	reqHeads map[string]head
	reqIDs   map[uuid.UUID]idTarget
}

type plannedEvent struct {
	stream string
	rev    eventstore.Revision
	ev     *pendingEvent
}

// head is a stream's last revision and that event's position.
type head struct {
	last   eventstore.Revision
	pos    eventstore.Position
	exists bool
}

type idTarget struct {
	pos eventstore.Position
	rev eventstore.Revision
}

func newPlanner() *planner {
	return &planner{
		heads:    make(map[string]head),
		ids:      make(map[uuid.UUID]idTarget),
		reqHeads: make(map[string]head),
		reqIDs:   make(map[uuid.UUID]idTarget),
		chainer:  newChainer(),
	}
}

// begin starts a commit at the store's next position.
func (p *planner) begin(s *Store, now time.Time) error {
	recordedAt, err := now.AppendBinary(p.recordedAt[:0])
	if err != nil {
		return fmt.Errorf("encode recorded_at %s: %w", now, err)
	}
	p.db.eng, p.cache, p.next, p.chain, p.recordedAt = s.eng, s.heads, s.next, s.chain, recordedAt
	p.batch = s.eng.db.NewBatch()
	clear(p.heads)
	clear(p.ids)
	return nil
}

// end releases the batch and the lookup iterator; the maps are kept for
// the next commit. Must run before the next commit begins.
func (p *planner) end() {
	_ = p.batch.Close() // only fails for a batch already closed
	p.batch = nil
	p.db.reset()
}

// apply plans and writes one request. reqErr is the request's own failure
// (nothing of it written); err is a storage failure that dooms the commit.
func (p *planner) apply(r *request) (results []eventstore.AppendResult, reqErr, err error) {
	p.plan = p.plan[:0]
	clear(p.reqHeads)
	clear(p.reqIDs)

	results = make([]eventstore.AppendResult, len(r.appends))
	for i := range r.appends {
		res, reqErr, err := p.planAppend(&r.appends[i])
		if err != nil || reqErr != nil {
			return nil, reqErr, err
		}
		results[i] = res
	}
	if err := p.write(); err != nil {
		return nil, nil, err
	}
	for stream, h := range p.reqHeads {
		p.heads[stream] = h
	}
	for id, t := range p.reqIDs {
		p.ids[id] = t
	}
	return results, nil, nil
}

func (p *planner) planAppend(a *streamAppend) (eventstore.AppendResult, error, error) {
	h, err := p.head(a.stream)
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
		t, dup, err := p.lookupID(ev.id)
		if err != nil {
			return res, nil, err
		}
		if dup {
			res.Duplicates++
			lastDup = t
			continue
		}
		// Claimed now so that a repeated id later in the request is a duplicate.
		p.reqIDs[ev.id] = idTarget{pos: p.next + uint64(len(p.plan)+len(fresh))}
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
		res.NextRevision, res.Position = h.last, h.pos
		return res, nil, nil
	}

	rev := h.last + 1
	if !h.exists {
		rev = 0
	}
	for _, ev := range fresh {
		t := idTarget{pos: p.next + uint64(len(p.plan)), rev: rev}
		p.reqIDs[ev.id] = t
		p.plan = append(p.plan, plannedEvent{stream: a.stream, rev: rev, ev: ev})
		res.NextRevision, res.Position = rev, t.pos
		rev++
	}
	p.reqHeads[a.stream] = head{last: res.NextRevision, pos: res.Position, exists: true}
	return res, nil, nil
}

// head returns the stream's head as planned in this commit, else as
// committed (cached or stored).
func (p *planner) head(stream string) (head, error) {
	if h, ok := p.reqHeads[stream]; ok {
		return h, nil
	}
	if h, ok := p.heads[stream]; ok {
		return h, nil
	}
	if h, ok := p.cache[stream]; ok {
		return h, nil
	}
	p.key = appendHeadKey(p.key[:0], stream)
	v, ok, err := p.db.get(p.key)
	if err != nil || !ok {
		return head{}, err
	}
	last, pos, err := u64Pair(v)
	if err != nil {
		return head{}, fmt.Errorf("head of %s: %w", stream, err)
	}
	return head{last: last, pos: pos, exists: true}, nil
}

// lookupID finds an event id planned in this commit or already stored.
func (p *planner) lookupID(id uuid.UUID) (idTarget, bool, error) {
	if t, ok := p.reqIDs[id]; ok {
		return t, true, nil
	}
	if t, ok := p.ids[id]; ok {
		return t, true, nil
	}
	p.key = appendIDKey(p.key[:0], id[:])
	v, ok, err := p.db.get(p.key)
	if err != nil || !ok {
		return idTarget{}, false, err
	}
	pos, rev, err := u64Pair(v)
	if err != nil {
		return idTarget{}, false, fmt.Errorf("id %s: %w", id, err)
	}
	return idTarget{pos: pos, rev: rev}, true, nil
}

// write puts the planned events into the batch, which copies keys and
// values, so the scratch buffers are reused.
func (p *planner) write() error {
	for _, e := range p.plan {
		pos := p.next
		p.key = appendLogKey(p.key[:0], pos)
		p.val = appendHeader(p.val[:0], e.rev, e.stream, p.recordedAt)
		head := len(p.val)
		p.val = append(p.val, e.ev.body...)
		// The body's digest comes from the appender.
		p.chain = p.chainer.linkSum(&p.chain, pos, p.val[:1], p.val[1+hashSize:head], &e.ev.sum)
		copy(p.val[1:1+hashSize], p.chain[:])
		if err := p.batch.Set(p.key, p.val, nil); err != nil {
			return fmt.Errorf("put position %d: %w", pos, err)
		}
		p.key = appendStreamKey(p.key[:0], e.stream, e.rev)
		p.val = appendU64(p.val[:0], pos)
		if err := p.batch.Set(p.key, p.val, nil); err != nil {
			return fmt.Errorf("put %s@%d: %w", e.stream, e.rev, err)
		}
		p.key = appendIDKey(p.key[:0], e.ev.id[:])
		p.val = appendU64(appendU64(p.val[:0], pos), e.rev)
		if err := p.batch.Set(p.key, p.val, nil); err != nil {
			return fmt.Errorf("put id %s: %w", e.ev.id, err)
		}
		p.next++
	}
	return nil
}

// writeHeads puts each stream's head once per commit, however many
// requests of the commit appended to it, and the chain's head.
func (p *planner) writeHeads() error {
	head := chainPoint{pos: p.next - 1, hash: p.chain}
	if err := p.batch.Set(keyChainHead, head.encode(), nil); err != nil {
		return fmt.Errorf("put chain head: %w", err)
	}
	for stream, h := range p.heads {
		p.key = appendHeadKey(p.key[:0], stream)
		p.val = appendU64(appendU64(p.val[:0], h.last), h.pos)
		if err := p.batch.Set(p.key, p.val, nil); err != nil {
			return fmt.Errorf("put head of %s: %w", stream, err)
		}
	}
	return nil
}

// headCache holds the heads of recently written streams, so that the
// writer rarely looks them up. Owned by the writer.
type headCache map[string]head

// maxCachedHeads bounds the cache; past it the cache starts over, the
// database having every head anyway.
const maxCachedHeads = 1 << 16

func (c headCache) update(heads map[string]head) {
	if len(c)+len(heads) > maxCachedHeads {
		clear(c)
	}
	for stream, h := range heads {
		c[stream] = h
	}
}
