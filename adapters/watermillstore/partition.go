package watermillstore

import (
	"fmt"
	"hash/fnv"

	"lifesituations/domain/eventstore"
)

// Partition makes a subscriber deliver only its share of a topic: the
// events whose key hashes (32-bit FNV-1a) to Index modulo Count. Run Count
// subscribers with Index 0..Count-1 in one consumer group and each event is
// delivered by exactly one of them, in log order per key. The others' events
// still advance the subscriber's checkpoint.
type Partition struct {
	Index, Count int
	// Key of an event; nil means its stream, which keeps each stream (one
	// person, one situation) on one partition and in order.
	Key func(eventstore.RecordedEvent) string
}

func (p *Partition) validate() error {
	if p.Count <= 0 || p.Index < 0 || p.Index >= p.Count {
		return fmt.Errorf("partition %d of %d: want 0 <= index < count", p.Index, p.Count)
	}
	return nil
}

// owns reports whether the event belongs to this partition; a nil
// partition owns everything.
func (p *Partition) owns(ev eventstore.RecordedEvent) bool {
	if p == nil {
		return true
	}
	key := ev.Stream
	if p.Key != nil {
		key = p.Key(ev)
	}
	return PartitionOf(key, p.Count) == p.Index
}

// PartitionOf is the partition of key among count: FNV-1a (32 bits) of the
// key modulo count.
func PartitionOf(key string, count int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key)) // never fails
	return int(h.Sum32() % uint32(count))
}
