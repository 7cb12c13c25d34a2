package ingest

import (
	"sync"
	"time"
)

// zoneCache remembers the zones found so that a batch does not read the
// zone database once per event. Unknown names are not remembered: anyone can
// invent them, so caching them would let memory grow without bound.
type zoneCache struct {
	known sync.Map
}

func (z *zoneCache) valid(name string) bool {
	if _, ok := z.known.Load(name); ok {
		return true
	}
	if _, err := time.LoadLocation(name); err != nil {
		return false
	}
	z.known.Store(name, struct{}{})
	return true
}
