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
	var at eventstore.Position
	cache := newFoldCache(cachedSituations)
	// The new file takes each page as it is folded: nobody reads it yet.
	pending := derived.NewPending(bucketMeta, 0, 0)
	return c.file.Rebuild(ctx, store, c.path, derived.Rebuilder{
		Open: openFile,
		Live: c.Position,
		Fold: func(next *bolt.DB, events []eventstore.RecordedEvent) error {
			last, err := applyTo(next, pending, events, at, cache)
			if err != nil {
				return err
			}
			at = max(at, last)
			return pending.Flush(next)
		},
		// The situations folded into the new file are those the live
		// fold goes on with.
		Adopt:   func(*bolt.DB) { c.cache = cache },
		Pending: c.pending,
	}, progress)
}
