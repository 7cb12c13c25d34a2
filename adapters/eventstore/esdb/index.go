package esdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"lifesituations/domain/eventstore"
)

// index maps EventStoreDB's $all positions (commit, prepare: byte offsets
// in the server's transaction log, sparse) to the port's positions: the
// ordinal of an event among the port's events of $all, 1, 2, 3, ... See
// the package documentation for why and what it costs.
//
// It follows $all with a catch-up subscription from the start (filtered on
// the server to leave system events and markers out) and numbers the
// port's events as they come. It keeps the positions of the last
// recentSize ordinals in full, and for older ones an anchor every
// anchorEvery ordinals: a lookup there reads $all from the anchor (at most
// anchorEvery port events, plus whatever lies between them), and keeps the
// segment it read for the next lookups.
type index struct {
	s           *Store
	anchorEvery uint64
	recentSize  uint64

	mu       sync.Mutex
	count    uint64              // ordinals assigned so far
	last     esdbclient.Position // position of ordinal count
	resume   esdbclient.AllPosition
	anchors  []esdbclient.Position // anchors[k]: position of ordinal k*anchorEvery+1
	ring     []esdbclient.Position // ring[ord%recentSize], valid for the last recentSize ordinals
	byPos    map[esdbclient.Position]uint64
	progress chan struct{}

	segMu    sync.Mutex
	segs     map[int][]esdbclient.Position
	segOrder []int
}

// cachedSegments bounds the segments of old positions kept in memory.
const cachedSegments = 16

func newIndex(s *Store) *index {
	return &index{
		s:           s,
		anchorEvery: uint64(s.cfg.anchorEvery),
		recentSize:  uint64(s.cfg.recentSize),
		resume:      esdbclient.Start{},
		ring:        make([]esdbclient.Position, s.cfg.recentSize),
		byPos:       map[esdbclient.Position]uint64{},
		progress:    make(chan struct{}),
		segs:        map[int][]esdbclient.Position{},
	}
}

func posLess(a, b esdbclient.Position) bool {
	return a.Commit < b.Commit || (a.Commit == b.Commit && a.Prepare < b.Prepare)
}

// run follows $all until ctx is done, subscribing again after a drop.
func (x *index) run(ctx context.Context) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		x.mu.Lock()
		from := x.resume
		x.mu.Unlock()
		var sub *esdbclient.Subscription
		err := x.s.guard(ctx, func(_ context.Context, c *esdbclient.Client) error {
			var err error
			sub, err = c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{
				From:   from,
				Filter: esdbclient.ExcludeSystemEventsFilter(),
			})
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			x.s.log.Warn("EventStoreDB position index: subscribing to $all failed; retrying", "err", err, "attempt", attempt)
			select {
			case <-time.After(min(10*time.Millisecond<<min(attempt, 7), time.Second)):
			case <-ctx.Done():
				return
			}
			continue
		}
		attempt = 0
		x.follow(ctx, sub)
		_ = sub.Close()
		select { // not in a tight loop if the server drops at once
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

func (x *index) follow(ctx context.Context, sub *esdbclient.Subscription) {
	for {
		e := sub.Recv()
		switch {
		case e.EventAppeared != nil:
			re := e.EventAppeared.OriginalEvent()
			if isPortEvent(re.StreamID, re.EventType) {
				x.add(re.Position)
			}
		case e.CheckPointReached != nil:
			x.mu.Lock()
			if x.count == 0 || posLess(x.last, *e.CheckPointReached) {
				x.resume = *e.CheckPointReached
			}
			x.mu.Unlock()
		case e.SubscriptionDropped != nil:
			if ctx.Err() == nil {
				x.s.log.Warn("EventStoreDB position index: subscription to $all dropped; subscribing again", "err", e.SubscriptionDropped.Error)
			}
			return
		}
	}
}

func (x *index) add(p esdbclient.Position) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.count > 0 && !posLess(x.last, p) {
		return // seen before a resubscription
	}
	x.count++
	ord := x.count
	if (ord-1)%x.anchorEvery == 0 {
		x.anchors = append(x.anchors, p)
	}
	slot := ord % x.recentSize
	if ord > x.recentSize {
		delete(x.byPos, x.ring[slot])
	}
	x.ring[slot] = p
	x.byPos[p] = ord
	x.last, x.resume = p, p
	close(x.progress)
	x.progress = make(chan struct{})
}

// known returns the number of ordinals assigned so far.
func (x *index) known() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.count
}

// waitPast waits until the index has numbered the port event at p.
func (x *index) waitPast(ctx context.Context, p esdbclient.Position) error {
	for {
		x.mu.Lock()
		if x.count > 0 && !posLess(x.last, p) {
			x.mu.Unlock()
			return nil
		}
		ch := x.progress
		x.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-x.s.closing:
			return eventstore.ErrClosed
		}
	}
}

// ordinalAt returns the port position of the port event at p, waiting for
// the index to reach it.
func (x *index) ordinalAt(ctx context.Context, p esdbclient.Position) (eventstore.Position, error) {
	if err := x.waitPast(ctx, p); err != nil {
		return 0, err
	}
	x.mu.Lock()
	if ord, ok := x.byPos[p]; ok {
		x.mu.Unlock()
		return ord, nil
	}
	k, _ := slices.BinarySearchFunc(x.anchors, p, func(a, t esdbclient.Position) int {
		if posLess(t, a) {
			return 1
		}
		return -1
	})
	k-- // the last anchor at or before p
	x.mu.Unlock()
	if k < 0 {
		return 0, fmt.Errorf("position index: %d/%d is before the first event", p.Commit, p.Prepare)
	}
	seg, err := x.segment(ctx, k)
	if err != nil {
		return 0, err
	}
	i, found := slices.BinarySearchFunc(seg, p, func(a, t esdbclient.Position) int {
		switch {
		case posLess(a, t):
			return -1
		case posLess(t, a):
			return 1
		}
		return 0
	})
	if !found {
		return 0, fmt.Errorf("position index: no event of the store at %d/%d", p.Commit, p.Prepare)
	}
	return uint64(k)*x.anchorEvery + uint64(i) + 1, nil
}

// positionOf returns the $all position of port position ord (>= 1), which
// the index must have numbered.
func (x *index) positionOf(ctx context.Context, ord eventstore.Position) (esdbclient.Position, error) {
	x.mu.Lock()
	if ord == 0 || ord > x.count {
		x.mu.Unlock()
		return esdbclient.Position{}, fmt.Errorf("position index: position %d not known (last %d)", ord, x.count)
	}
	if ord+x.recentSize > x.count {
		p := x.ring[ord%x.recentSize]
		x.mu.Unlock()
		return p, nil
	}
	x.mu.Unlock()
	k := int((ord - 1) / x.anchorEvery)
	seg, err := x.segment(ctx, k)
	if err != nil {
		return esdbclient.Position{}, err
	}
	i := int((ord - 1) % x.anchorEvery)
	if i >= len(seg) {
		return esdbclient.Position{}, fmt.Errorf("position index: segment %d holds %d events, position %d not found", k, len(seg), ord)
	}
	return seg[i], nil
}

// segment returns the positions of ordinals k*anchorEvery+1 on (up to
// anchorEvery of them), reading $all from anchor k.
func (x *index) segment(ctx context.Context, k int) ([]esdbclient.Position, error) {
	x.segMu.Lock()
	if seg, ok := x.segs[k]; ok {
		x.segMu.Unlock()
		return seg, nil
	}
	x.segMu.Unlock()

	x.mu.Lock()
	if k >= len(x.anchors) {
		x.mu.Unlock()
		return nil, fmt.Errorf("position index: no anchor %d", k)
	}
	anchor := x.anchors[k]
	x.mu.Unlock()

	seg := make([]esdbclient.Position, 0, x.anchorEvery)
	from := anchor
	for uint64(len(seg)) < x.anchorEvery {
		// Markers and system events lie between the port's events: read
		// about twice what is missing, not a whole page, for small segments.
		count := min(uint64(readPage), 2*(x.anchorEvery-uint64(len(seg)))+8)
		page, err := x.s.readAllPage(ctx, from, esdbclient.Forwards, count)
		if err != nil {
			return nil, fmt.Errorf("position index: %w", err)
		}
		for _, ev := range page {
			re := ev.OriginalEvent()
			if posLess(re.Position, anchor) || (len(seg) > 0 && !posLess(seg[len(seg)-1], re.Position)) {
				continue
			}
			if isPortEvent(re.StreamID, re.EventType) {
				seg = append(seg, re.Position)
				if uint64(len(seg)) == x.anchorEvery {
					break
				}
			}
		}
		if uint64(len(page)) < count {
			break
		}
		from = page[len(page)-1].OriginalEvent().Position
	}
	if len(seg) == 0 || seg[0] != anchor {
		return nil, errors.New("position index: $all does not hold the anchor event any more (scavenged?)")
	}
	if uint64(len(seg)) == x.anchorEvery {
		x.segMu.Lock()
		if _, ok := x.segs[k]; !ok {
			x.segs[k] = seg
			x.segOrder = append(x.segOrder, k)
			if len(x.segOrder) > cachedSegments {
				delete(x.segs, x.segOrder[0])
				x.segOrder = x.segOrder[1:]
			}
		}
		x.segMu.Unlock()
	}
	return seg, nil
}

// readPage is the number of events read from $all at a time.
const readPage = 512

// lastPortEvent finds the position of the last port event in $all, reading
// it backwards; ok is false when there is none.
func (x *index) lastPortEvent(ctx context.Context) (p esdbclient.Position, ok bool, err error) {
	var from esdbclient.AllPosition = esdbclient.End{}
	var bound *esdbclient.Position
	for {
		page, err := x.s.readAllPage(ctx, from, esdbclient.Backwards, 64)
		if err != nil {
			return p, false, err
		}
		for _, ev := range page {
			re := ev.OriginalEvent()
			if bound != nil && !posLess(re.Position, *bound) {
				continue
			}
			if isPortEvent(re.StreamID, re.EventType) {
				return re.Position, true, nil
			}
		}
		if len(page) < 64 {
			return p, false, nil
		}
		last := page[len(page)-1].OriginalEvent().Position
		from, bound = last, &last
	}
}
