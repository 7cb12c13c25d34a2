package register

import (
	"context"

	"lifesituations/domain/eventstore"
)

// Rebuild folds the log into a new file beside the register's while the
// register keeps serving and folding, then switches to it between two of
// the live fold's transactions, at the position the live file holds: no
// reader sees a file that is not complete up to a position, and no event is
// lost or folded twice (see derived.Handle.Rebuild). progress, if not nil,
// is told each position the new file reaches. It must not run concurrently
// with itself or with Close.
func (p *Projection) Rebuild(ctx context.Context, store eventstore.Store, progress func(eventstore.Position)) error {
	return p.model.Rebuild(ctx, store, applyTo, nil, progress)
}
