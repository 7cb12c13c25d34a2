package esdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"lifesituations/domain/eventstore"
)

// errRetry: the attempt found the server moving under it (another writer of
// the stream or of the same event id); start again from the reads.
var errRetry = errors.New("esdb: retry the append")

// maxAttempts bounds the attempts of one append under contention.
const maxAttempts = 200

// Append appends events to one stream; see eventstore.Store and the
// package documentation for how event ids stay idempotent.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	req, err := s.prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.usable(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.appendOne(ctx, req, nil)
}

// AppendMany appends to several streams. EventStoreDB writes one stream
// atomically, not several: this checks every part's expectation first
// (reads only) and fails without writing when one does not hold, then
// writes the parts in order. If another writer moves a stream in between,
// or the connection fails, the parts before the failing one stay written;
// a retry of the whole request is then a no-op for them (their event ids
// are stored) and completes the rest.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if len(appends) == 0 {
		return nil, ctx.Err()
	}
	reqs := make([]*appendReq, len(appends))
	for i, a := range appends {
		r, err := s.prepare(a.Stream, a.Expected, a.Events)
		if err != nil {
			return nil, err
		}
		reqs[i] = r
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	// Check first, as far as reads can tell, with the heads and ids the
	// earlier parts would leave.
	sim := &simulation{heads: map[string]head{}, ids: map[uuid.UUID]bool{}}
	for _, r := range reqs {
		if _, err := s.plan(ctx, r, sim, nil); err != nil {
			return nil, err
		}
	}
	results := make([]eventstore.AppendResult, len(reqs))
	for i, r := range reqs {
		res, err := s.appendOne(ctx, r, nil)
		if err != nil {
			if i > 0 {
				return nil, fmt.Errorf("append many: part %d (%s) failed after %d parts were written (retry the request: it is idempotent): %w", i, r.stream, i, err)
			}
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}

// appendReq is one stream's part of an append, validated and encoded.
type appendReq struct {
	stream   string
	expected eventstore.ExpectedRevision
	ids      []uuid.UUID // in request order
	// uniq are the indexes of the first occurrence of each id: a repeated
	// id in one request is a duplicate of the first.
	uniq []int
	data []esdbclient.EventData
}

func (s *Store) prepare(stream string, expected eventstore.ExpectedRevision, events []eventstore.Event) (*appendReq, error) {
	if err := checkStream(stream); err != nil {
		return nil, fmt.Errorf("append to %q: %w", stream, err)
	}
	var recordedAt *time.Time
	if s.cfg.clock != nil {
		now := s.cfg.clock.Now()
		recordedAt = &now
	}
	r := &appendReq{stream: stream, expected: expected, ids: make([]uuid.UUID, len(events)), data: make([]esdbclient.EventData, len(events))}
	seen := make(map[uuid.UUID]bool, len(events))
	for i := range events {
		ev := &events[i]
		if err := checkEvent(ev); err != nil {
			return nil, fmt.Errorf("append to %s: event %d: %w", stream, i, err)
		}
		d, err := encodeEvent(ev, recordedAt)
		if err != nil {
			return nil, fmt.Errorf("append to %s: event %d: %w", stream, i, err)
		}
		r.ids[i], r.data[i] = ev.ID, d
		if !seen[ev.ID] {
			seen[ev.ID] = true
			r.uniq = append(r.uniq, i)
		}
	}
	return r, nil
}

// simulation carries what the earlier parts of an AppendMany would leave,
// for checking the later parts before anything is written.
type simulation struct {
	heads map[string]head
	ids   map[uuid.UUID]bool
}

// where an event id stands.
type idState int

const (
	idNew          idState = iota
	idStored               // stored: at stored
	idPendingOther         // an earlier append may still write it to another stream
)

type idStatus struct {
	state idState
	// stored: the event and its $all position.
	stream string
	rev    eventstore.Revision
	pos    esdbclient.Position
	// markerLast is the marker stream's last revision (markerExists false:
	// no marker stream yet), for writing the next intent.
	markerLast   uint64
	markerExists bool
}

// planned is an append checked against the server's state, ready to write.
type planned struct {
	head head
	ids  []idStatus // by request index of the first occurrence (r.uniq)
	// fresh are the request indexes of the events to write, in order.
	fresh []int
	// result for a no-op (nothing fresh).
	noop *eventstore.AppendResult
	// pendingOther lists ids an append to another stream may still write.
	pendingOther []uuid.UUID
}

// appendOne runs attempts until one settles. pendingSince remembers, across
// attempts, since when an id has been seen pending for another stream.
func (s *Store) appendOne(ctx context.Context, r *appendReq, pendingSince map[uuid.UUID]time.Time) (eventstore.AppendResult, error) {
	unlock, err := s.locks.lock(ctx, r.stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer unlock()
	if pendingSince == nil {
		pendingSince = map[uuid.UUID]time.Time{}
	}
	for attempt := 0; ; attempt++ {
		res, err := s.attempt(ctx, r, pendingSince, attempt == 0)
		if !errors.Is(err, errRetry) {
			return res, err
		}
		if attempt+1 >= maxAttempts {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %d attempts lost to concurrent writers: %w", r.stream, maxAttempts, eventstore.ErrOverloaded)
		}
		wait := backoff(attempt)
		if len(pendingSince) > 0 {
			wait = max(wait, 50*time.Millisecond)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
}

// attempt is one try: read the stream's head and the ids' markers, decide
// what is new, write the intents, write the events.
//
// The first attempt takes a shorter way when the expectation holds: it
// does not read the markers but writes each intent expecting no marker
// stream, which succeeds only for an id no append has ever touched (every
// write of an event follows an intent). If one fails, the id has a
// history and the next attempt reads the markers.
func (s *Store) attempt(ctx context.Context, r *appendReq, pendingSince map[uuid.UUID]time.Time, fast bool) (eventstore.AppendResult, error) {
	var p *planned
	if fast && len(r.ids) > 0 {
		h, err := s.head(ctx, r.stream)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if r.expected.Matches(h.last, h.exists) {
			p = &planned{head: h, ids: make([]idStatus, len(r.uniq)), fresh: slices.Clone(r.uniq)}
		}
	}
	if p == nil {
		var err error
		if p, err = s.plan(ctx, r, nil, pendingSince); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	if p.noop != nil {
		return *p.noop, nil
	}
	if len(p.pendingOther) > 0 {
		return eventstore.AppendResult{}, errRetry
	}

	// The intents: each fresh event, where it is about to be written.
	first := uint64(0)
	if p.head.exists {
		first = p.head.last + 1
	}
	intentsAt := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.parallel)
	for n, i := range p.fresh {
		st := p.statusOf(r, i)
		in := intent{Stream: r.stream, Revision: first + uint64(n), First: first}
		g.Go(func() error {
			opts := esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}
			if st.markerExists {
				opts.ExpectedRevision = esdbclient.Revision(st.markerLast)
			}
			err := s.guard(gctx, func(ctx context.Context, c *esdbclient.Client) error {
				_, err := c.AppendToStream(ctx, markerStream(r.ids[i]), opts, encodeIntent(in))
				return err
			})
			if isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
				return errRetry // another append of the same id is at work
			}
			if err != nil {
				return fmt.Errorf("write the intent of %s: %w", r.ids[i], err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return eventstore.AppendResult{}, s.failure(ctx, err)
	}

	// The events, expecting exactly the head the intents were planned on,
	// so that this write and any earlier attempt's exclude each other.
	data := make([]esdbclient.EventData, len(p.fresh))
	for n, i := range p.fresh {
		data[n] = r.data[i]
	}
	remaining := s.cfg.writeWindow - time.Since(intentsAt)
	if remaining <= 0 {
		return eventstore.AppendResult{}, errRetry // too late for these intents: plan again
	}
	opts := esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}, Deadline: &remaining}
	if p.head.exists {
		opts.ExpectedRevision = esdbclient.Revision(p.head.last)
	}
	if err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		_, err := c.AppendToStream(ctx, r.stream, opts, data...)
		return err
	}); err != nil {
		if isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			return eventstore.AppendResult{}, errRetry
		}
		return eventstore.AppendResult{}, s.failure(ctx, fmt.Errorf("append to %s: %w", r.stream, err))
	}

	lastRev := first + uint64(len(p.fresh)) - 1
	ev, err := s.eventAt(ctx, r.stream, lastRev)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if ev == nil || ev.EventID != r.ids[p.fresh[len(p.fresh)-1]] {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: the server acknowledged the write but %s@%d does not hold it", r.stream, r.stream, lastRev)
	}
	pos, err := s.idx.ordinalAt(ctx, ev.Position)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return eventstore.AppendResult{NextRevision: lastRev, Position: pos, Duplicates: len(r.ids) - len(p.fresh)}, nil
}

func (p *planned) statusOf(r *appendReq, i int) idStatus {
	for n, u := range r.uniq {
		if u == i {
			return p.ids[n]
		}
	}
	panic("statusOf: not a first occurrence")
}

// plan reads the stream's head and the markers of the request's ids and
// decides, without writing: a no-op (every event stored), a conflict
// (returned as the error), or the events to write. With sim, it plans a
// part of an AppendMany as if the earlier parts were written, and records
// what this one would write.
func (s *Store) plan(ctx context.Context, r *appendReq, sim *simulation, pendingSince map[uuid.UUID]time.Time) (*planned, error) {
	h, simulated := head{}, false
	if sim != nil {
		h, simulated = sim.heads[r.stream]
	}
	if !simulated {
		var err error
		if h, err = s.head(ctx, r.stream); err != nil {
			return nil, err
		}
	}
	p := &planned{head: h, ids: make([]idStatus, len(r.uniq))}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.parallel)
	for n, i := range r.uniq {
		id := r.ids[i]
		if sim != nil && sim.ids[id] {
			p.ids[n] = idStatus{state: idStored, stream: r.stream}
			continue
		}
		g.Go(func() error {
			st, err := s.locate(gctx, id, r.stream, h)
			p.ids[n] = st
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	for n, i := range r.uniq {
		st := &p.ids[n]
		switch st.state {
		case idStored:
		case idPendingOther:
			id := r.ids[i]
			if pendingSince == nil {
				// A check before writing: count it as new.
				p.fresh = append(p.fresh, i)
				continue
			}
			since, ok := pendingSince[id]
			if !ok {
				pendingSince[id] = time.Now()
			}
			if ok && time.Since(since) >= s.cfg.settle {
				st.state = idNew // its writer is long gone: the intent is dead
				p.fresh = append(p.fresh, i)
				continue
			}
			p.pendingOther = append(p.pendingOther, id)
		default:
			p.fresh = append(p.fresh, i)
		}
	}
	if len(r.ids) > 0 && len(p.fresh) == 0 && len(p.pendingOther) == 0 {
		// Every event is stored: a retry, a no-op whatever the expectation.
		res := eventstore.AppendResult{Duplicates: len(r.ids), NextRevision: h.last}
		last := p.lastStoredInOrder(r)
		if !h.exists {
			res.NextRevision = last.rev
		}
		if sim == nil {
			pos, err := s.idx.ordinalAt(ctx, last.pos)
			if err != nil {
				return nil, err
			}
			res.Position = pos
		}
		p.noop = &res
		return p, nil
	}
	if !r.expected.Matches(h.last, h.exists) {
		return nil, &eventstore.WrongExpectedRevisionError{Stream: r.stream, Expected: r.expected, Actual: h.last, Exists: h.exists}
	}
	if len(r.ids) == 0 {
		// No events: only the expectation was checked.
		res := eventstore.AppendResult{NextRevision: h.last}
		if h.exists && sim == nil {
			pos, err := s.idx.ordinalAt(ctx, h.pos)
			if err != nil {
				return nil, err
			}
			res.Position = pos
		}
		p.noop = &res
		return p, nil
	}
	if sim != nil {
		n := uint64(len(p.fresh))
		if n > 0 {
			nh := head{exists: true, last: n - 1}
			if h.exists {
				nh.last = h.last + n
			}
			sim.heads[r.stream] = nh
		}
		for _, id := range r.ids {
			sim.ids[id] = true
		}
	}
	return p, nil
}

// lastStoredInOrder is the status of the request's last event, all of
// them being stored: the one whose position the no-op reports.
func (p *planned) lastStoredInOrder(r *appendReq) *idStatus {
	last := r.ids[len(r.ids)-1]
	for n, i := range r.uniq {
		if r.ids[i] == last {
			return &p.ids[n]
		}
	}
	panic("lastStoredInOrder: id not in the request")
}

// locate finds whether an event id is stored, by reading its marker
// stream: every write of an event is preceded by an intent naming the
// stream and revision it will occupy, so the event is stored if and only
// if one of the intents is verified. h is the head of the stream being
// appended to, as this attempt read it.
func (s *Store) locate(ctx context.Context, id uuid.UUID, stream string, h head) (idStatus, error) {
	evs, found, err := s.readStream(ctx, markerStream(id), esdbclient.ReadStreamOptions{Direction: esdbclient.Forwards, From: esdbclient.Start{}}, 4096)
	if err != nil {
		return idStatus{}, err
	}
	st := idStatus{state: idNew}
	if !found || len(evs) == 0 {
		return st, nil
	}
	st.markerExists, st.markerLast = true, evs[len(evs)-1].OriginalEvent().EventNumber
	heads := map[string]head{stream: h}
	pendingOther := false
	for i := len(evs) - 1; i >= 0; i-- {
		in, err := decodeIntent(evs[i].OriginalEvent())
		if err != nil {
			return idStatus{}, err
		}
		th, ok := heads[in.Stream]
		if !ok {
			if th, err = s.head(ctx, in.Stream); err != nil {
				return idStatus{}, err
			}
			heads[in.Stream] = th
		}
		switch {
		case th.exists && in.Revision <= th.last:
			// The slot is taken for good: by this event or another.
			ev, err := s.eventAt(ctx, in.Stream, in.Revision)
			if err != nil {
				return idStatus{}, err
			}
			if ev != nil && ev.EventID == id {
				st.state, st.stream, st.rev, st.pos = idStored, in.Stream, in.Revision, ev.Position
				return st, nil
			}
		case th.exists && th.last >= in.First:
			// Its append's first slot is taken by another event, and an
			// append is all or nothing: it never happened.
		case in.Stream == stream:
			// That append may still land, but only where this one would
			// (same stream, same expected revision): the server lets one
			// of the two through, and a retry then finds it.
		default:
			pendingOther = true
		}
	}
	if pendingOther {
		st.state = idPendingOther
	}
	return st, nil
}
