package eventstore

import "context"

// deferredKey marks a context whose appends may return before they are
// durable.
type deferredKey struct{}

// WithDeferredSync returns a context whose appends may return once the
// store has taken them, before they are durable: a caller that appends
// one small batch after another (a saga partition, each decision its own
// append) then shares each sync with the appends that follow instead of
// waiting for its own. Until the store syncs them, such events are seen by
// ReadStream (a reader of the stream may append after them, and its
// synced append makes them durable with it) but not by ReadAll,
// SubscribeAll and LastPosition: nothing folds into a read model, or
// reaches a citizen, before it is durable. The caller must not count such
// an append as done (save a checkpoint past what it acted on) before
// Syncer.Sync returns. A store that syncs every append ignores it.
func WithDeferredSync(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferredKey{}, true)
}

// DeferredSync reports whether ctx allows appends to return before they
// are durable (WithDeferredSync).
func DeferredSync(ctx context.Context) bool {
	v, _ := ctx.Value(deferredKey{}).(bool)
	return v
}

// Syncer is a store that honours WithDeferredSync. Sync returns once
// every append that returned before the call is durable and seen by the
// readers of the log.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Sync syncs store when it honours WithDeferredSync (Syncer), and returns
// at once when it syncs every append: for decorators, which pass Sync on
// to the store they wrap.
func Sync(ctx context.Context, store Store) error {
	if y, ok := store.(Syncer); ok {
		return y.Sync(ctx)
	}
	return nil
}
