package sealed

import (
	"context"
	"sync"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// openedCache keeps the last events opened, by position: every read model
// and saga partition subscribes to the log on its own and reads the same
// events within moments of each other, and opening (a key lookup and an
// AES-GCM open per field, the payload spliced again) was 12% of a loaded
// server's CPU, most of it opening the same event again for the next
// subscriber. An entry is used only while every key it was opened with is
// still there: an erasure makes the next read open the event again and
// get the marker.
type openedCache struct {
	mu      sync.RWMutex
	entries map[eventstore.Position]openedEntry
	ring    []eventstore.Position // insertion order, to evict the oldest
	next    int
}

type openedEntry struct {
	sealedLen int // the stored payload's length, a check that it is the same event
	data      []byte
	owners    []string
	// erasures is the key store's count of erasures before the event was
	// opened, where the key store keeps one (erasureCounter): while it is
	// the same, no key can have gone, and the owners need no lookup.
	erasures uint64
	counted  bool
}

// erasureCounter is a key store that counts the erasures it has made, all
// of them (the embedded one: one process owns it). One that cannot know of
// every erasure (another process's) must not offer it.
type erasureCounter interface{ Erasures() uint64 }

// erasuresNow reads the key store's count, if it keeps one.
func erasuresNow(keys personaldata.KeyStore) (uint64, bool) {
	if c, ok := keys.(erasureCounter); ok {
		return c.Erasures(), true
	}
	return 0, false
}

// openedCacheSize bounds the cache: enough for the subscribers to read a
// batch of appends each (they lag one another by a few thousand events at
// most while folding), little memory (a few MiB of payloads).
const openedCacheSize = 8192

func newOpenedCache(size int) *openedCache {
	return &openedCache{entries: make(map[eventstore.Position]openedEntry, size), ring: make([]eventstore.Position, size)}
}

// get returns the opened payload of the event at pos when it is cached and
// none of its owners' keys has been erased since.
func (c *openedCache) get(ctx context.Context, keys personaldata.KeyStore, pos eventstore.Position, sealedLen int) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.entries[pos]
	c.mu.RUnlock()
	if !ok || e.sealedLen != sealedLen {
		return nil, false
	}
	if n, counted := erasuresNow(keys); counted && e.counted {
		return e.data, n == e.erasures
	}
	for _, o := range e.owners {
		if k, err := keys.Lookup(ctx, o); err != nil || k.Erased {
			return nil, false
		}
	}
	return e.data, true
}

// put remembers an opened payload; owners are the persons whose keys
// opened it (none erased), erasures and counted what erasuresNow said
// before their keys were looked up.
func (c *openedCache) put(pos eventstore.Position, sealedLen int, data []byte, owners []string, erasures uint64, counted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[pos]; ok {
		return
	}
	if old := c.ring[c.next]; old != 0 {
		delete(c.entries, old)
	}
	c.ring[c.next] = pos
	c.next = (c.next + 1) % len(c.ring)
	c.entries[pos] = openedEntry{sealedLen: sealedLen, data: data, owners: owners, erasures: erasures, counted: counted}
}
