package embedded

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// The tail: the writer keeps the events of the last commits decoded, so
// that the subscriptions following the log at its end (projections, saga
// partitions, timers: about eight in `serve`) take each new event from
// memory, decoded once for all of them, instead of each opening an
// iterator and decoding it again. A subscription further behind than the
// tail reaches reads the database as before, and joins the tail once it
// has caught up.
//
// The events are shared by every subscription that takes them: consumers
// must not modify an event's Data or Metadata.Extra in place (replacing
// them in their own copy of the event is fine).
const (
	// tailEvents and tailBytes bound the tail. In a burst the core writes
	// about 10,000 events a second and the projections, which fold in
	// batches, fall a few seconds behind: a tail of 16,384 events (32 MiB)
	// sent them to the database, each decoding every record again, and
	// this one keeps them in it (a million persons' burst ran at 1,572 -
	// 1,593 against 1,414 - 1,474 life events/s, for 140 - 240 MiB more
	// at the peak; docs/performance.md).
	tailEvents = 65536
	tailBytes  = 128 << 20
	// eventOverhead approximates an event's memory besides its strings and
	// data (the RecordedEvent itself, slice and map headers).
	eventOverhead = 256
)

// tailCache is a ring of the last committed events, in position order without
// gaps. The writer adds to it before it publishes a commit's last
// position; readers take only events up to the published position, so an
// event is never delivered before LastPosition and ReadStream show it.
type tailCache struct {
	maxEvents, maxBytes int

	mu     sync.RWMutex
	ring   []eventstore.RecordedEvent // grows to maxEvents, then wraps
	start  int                        // index of the oldest event in ring
	n      int                        // events held
	first  eventstore.Position        // position of the oldest event held
	bytes  int
	in     interner // owned by the writer
	decode []eventstore.RecordedEvent
}

func newTailCache(maxEvents, maxBytes int) *tailCache {
	return &tailCache{maxEvents: maxEvents, maxBytes: maxBytes, in: interner{}}
}

// add decodes the log records of a committed batch, which wrote the events
// at positions from to from+count-1, and appends them. Owned by the writer.
// A record it cannot decode empties the tail: readers then read the
// database, which reports the corruption as it always did.
func (t *tailCache) add(b *pebble.Batch, from eventstore.Position, count uint64) {
	events, err := t.decodeBatch(b, from, count)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil || (t.n > 0 && from != t.first+uint64(t.n)) {
		t.reset()
	}
	for i := range events {
		t.push(&events[i])
	}
	clear(events)
}

// decodeBatch decodes the batch's log records in position order (the
// planner writes them in that order).
func (t *tailCache) decodeBatch(b *pebble.Batch, from eventstore.Position, count uint64) ([]eventstore.RecordedEvent, error) {
	if len(t.in) >= maxInterned {
		t.in = interner{} // keep types and sources interned, not old streams
	}
	events := t.decode[:0]
	r := b.Reader()
	for {
		kind, key, value, ok, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("read committed batch: %w", err)
		}
		if !ok {
			break
		}
		if kind != pebble.InternalKeyKindSet || len(key) != 9 || key[0] != prefixLog {
			continue
		}
		pos, err := u64(key[1:])
		if err != nil {
			return nil, err
		}
		if pos != from+uint64(len(events)) {
			return nil, fmt.Errorf("committed batch: position %d, want %d", pos, from+uint64(len(events)))
		}
		ev, _, err := decodeRecord(value, pos, &eventstore.Filter{}, t.in)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	t.decode = events
	if uint64(len(events)) != count {
		return nil, fmt.Errorf("committed batch: %d log records, want %d", len(events), count)
	}
	return events, nil
}

// push appends one event, dropping the oldest ones past the bounds.
func (t *tailCache) push(ev *eventstore.RecordedEvent) {
	size := eventSize(ev)
	for t.n > 0 && (t.n >= t.maxEvents || t.bytes+size > t.maxBytes) {
		t.dropOldest()
	}
	if t.n == 0 {
		t.start, t.first = 0, ev.Position
	}
	i := t.index(t.n)
	if i == len(t.ring) {
		t.ring = append(t.ring, *ev)
	} else {
		t.ring[i] = *ev
	}
	t.n++
	t.bytes += size
}

func (t *tailCache) dropOldest() {
	t.bytes -= eventSize(&t.ring[t.start])
	t.ring[t.start] = eventstore.RecordedEvent{}
	t.start = t.index(1)
	t.first++
	t.n--
}

// index is the ring index of the k-th event held (0 the oldest).
func (t *tailCache) index(k int) int {
	i := t.start + k
	if i >= t.maxEvents {
		i -= t.maxEvents
	}
	return i
}

func (t *tailCache) reset() {
	clear(t.ring)
	t.ring, t.start, t.n, t.bytes = t.ring[:0], 0, 0, 0
}

// eventSize approximates the memory an event holds.
func eventSize(ev *eventstore.RecordedEvent) int {
	m := &ev.Metadata
	size := eventOverhead + len(ev.Stream) + len(ev.Type) + len(ev.Data) +
		len(m.Source) + len(m.SourceEventID) + len(m.CorrelationID) + len(m.CausationID) +
		len(m.Actor) + len(m.CatalogueVersion)
	for k, v := range m.Extra {
		size += len(k) + len(v) + 16
	}
	return size
}

// read appends to dst the events after position after, up to position
// last, that pass the filter, until dst holds max events. ok is false when
// the tail holds neither the event at after nor the one after it: the
// caller reads the database instead. It returns the last position looked
// at.
func (t *tailCache) read(dst []eventstore.RecordedEvent, after, last eventstore.Position, f *eventstore.Filter, max int) (_ []eventstore.RecordedEvent, _ eventstore.Position, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.n == 0 || after+1 < t.first || after >= t.first+uint64(t.n) {
		return dst, after, false
	}
	end := min(last, t.first+uint64(t.n)-1)
	for after < end && len(dst) < max {
		ev := &t.ring[t.index(int(after+1-t.first))]
		if f.Match(ev.Stream, ev.Type) {
			dst = append(dst, *ev)
		}
		after++
	}
	return dst, after, true
}
