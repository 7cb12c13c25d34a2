package cabinet

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// Rebuild folds the log into a new file beside the cabinet's while the
// cabinet keeps serving and folding, then switches to it between two of the
// live fold's transactions, at the position the live file holds: no reader
// sees a file that is not complete up to a position, and no event is lost
// or folded twice (see derived.Handle.Rebuild). progress, if not nil, is
// told each position the new file reaches. It must not run concurrently
// with itself or with Close.
func (c *Cabinet) Rebuild(ctx context.Context, store eventstore.Store, progress func(eventstore.Position)) error {
	cache := newFoldCache(cachedSituations)
	fold := func(db *bolt.DB, p *derived.Pending, events []eventstore.RecordedEvent, from eventstore.Position) (eventstore.Position, error) {
		return applyTo(db, p, events, from, cache)
	}
	// The situations folded into the new file are those the live fold
	// goes on with.
	return c.model.Rebuild(ctx, store, fold, func(*bolt.DB) { c.cache = cache }, progress)
}
