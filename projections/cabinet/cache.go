package cabinet

import (
	lrulist "container/list"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// cachedSituations bounds the cache of folded situations (about 13 KiB
// each for a birth's): a burst's situations are mostly written in one
// batch, so the cache serves those that span two batches and those a
// citizen or an agency acts on soon after, without holding a large part of
// the file in memory.
const cachedSituations = 512

// foldCache keeps the situations the last batches folded, as committed, so
// that a batch touching one again neither decodes nor refolds its stored
// log. It keeps their states, not their logs, which the file holds
// already: a batch reads a cached situation's log back as stored bytes.
// It holds what one file holds: a batch run on another file (after a
// rebuild's switch) empties it first. Only the fold uses it (under the
// file's fold lock). A nil cache keeps nothing.
type foldCache struct {
	db    *bolt.DB
	max   int
	items map[uuid.UUID]*lrulist.Element
	lru   lrulist.List // of *folded, most recently used first
}

func newFoldCache(max int) *foldCache {
	return &foldCache{max: max, items: map[uuid.UUID]*lrulist.Element{}}
}

// on readies the cache for a batch on db: what it holds of another file
// is dropped.
func (c *foldCache) on(db *bolt.DB) {
	if c != nil && c.db != db {
		c.clear()
		c.db = db
	}
}

// get returns the situation as last committed, if kept, without its log.
// The batch then folds into it in place: it must keep it after a commit or
// clear the cache after a failure.
func (c *foldCache) get(id uuid.UUID) (*folded, bool) {
	if c == nil {
		return nil, false
	}
	el, ok := c.items[id]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*folded), true
}

// keep records situations as committed, evicting the least recently used
// beyond the bound.
func (c *foldCache) keep(fs []*folded) {
	if c == nil {
		return
	}
	for _, f := range fs {
		f.log = nil
		if el, ok := c.items[f.id]; ok {
			el.Value = f
			c.lru.MoveToFront(el)
			continue
		}
		c.items[f.id] = c.lru.PushFront(f)
	}
	for c.lru.Len() > c.max {
		el := c.lru.Back()
		c.lru.Remove(el)
		delete(c.items, el.Value.(*folded).id)
	}
}

// clear drops everything: after a failed transaction (whose situations
// were folded in place) and when the file is emptied.
func (c *foldCache) clear() {
	if c == nil {
		return
	}
	clear(c.items)
	c.lru.Init()
}
