package register

import (
	"context"

	"lifesituations/domain/eventstore"
)

// Run folds the global log from the checkpoint, then follows it, until ctx
// is done (it then returns ctx's error) or folding fails. Events are folded
// in batches of whatever has arrived (see derived.Run); WaitFor wakes once
// a batch is visible to readers, and the file takes the batches with the
// checkpoint every derived.CommitEvery. A checkpoint ahead of the store's
// last position (a store restored from an older backup) empties the
// register to fold the log again. Only one Run may be active at a time.
func (p *Projection) Run(ctx context.Context, store eventstore.Store) error {
	return p.model.Run(ctx, store, applyTo, nil)
}
