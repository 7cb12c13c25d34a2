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
	var at, held eventstore.Position
	cache := newFoldCache(cachedSituations)
	return c.file.Rebuild(ctx, store, c.path, derived.Rebuilder{
		Open: openFile,
		Live: c.Position,
		Fold: func(next *bolt.DB, events []eventstore.RecordedEvent) error {
			last, persisted, err := applyTo(next, events, at, held, cache)
			if err != nil {
				return err
			}
			at, held = max(at, last), persisted
			return nil
		},
		// The new file's checkpoint may lag behind the position as the
		// live one's may (see apply); the situations folded into it are
		// those the live fold goes on with.
		Adopt: func(*bolt.DB) { c.persisted, c.cache = held, cache },
	}, progress)
}
