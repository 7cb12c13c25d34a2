package register

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// Rebuild folds the log into a new file beside the register's while the
// register keeps serving and folding, then switches to it between two of
// the live fold's transactions, at the position the live file holds: no
// reader sees a file that is not complete up to a position, and no event is
// lost or folded twice (see derived.Handle.Rebuild). progress, if not nil,
// is told each position the new file reaches. It must not run concurrently
// with itself or with Close.
func (p *Projection) Rebuild(ctx context.Context, store eventstore.Store, progress func(eventstore.Position)) error {
	var at eventstore.Position
	// The new file takes each page as it is folded: nobody reads it yet.
	pending := derived.NewPending(bucketMeta, 0, 0)
	return p.file.Rebuild(ctx, store, p.path, derived.Rebuilder{
		Open: openFile,
		Live: p.Position,
		Fold: func(next *bolt.DB, events []eventstore.RecordedEvent) error {
			reached, err := applyTo(next, pending, events, at)
			if err != nil {
				return err
			}
			at = reached
			return pending.Flush(next)
		},
		Pending: p.pending,
	}, progress)
}
