package cabinet

import (
	"context"
	"errors"
	"fmt"

	"lifesituations/domain/eventstore"
)

// maxBatch bounds the events folded in one transaction: enough to share a
// sync among many events when catching up, small enough to keep each
// transaction short.
const maxBatch = 1000

// Run folds the global log from the checkpoint, then follows it, until ctx
// is done (it then returns ctx's error) or folding fails. Events are folded
// in batches of whatever has arrived, up to maxBatch, one transaction each.
// Only one Run may be active at a time.
func (c *Cabinet) Run(ctx context.Context, store eventstore.Store) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("cabinet: already running")
	}
	defer c.running.Store(false)
	c.setFailed(nil)

	err := c.run(ctx, store)
	if ctx.Err() == nil {
		c.setFailed(err)
	}
	return err
}

func (c *Cabinet) run(ctx context.Context, store eventstore.Store) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The subscription takes the whole log, not only situation streams, so
	// that the position reaches whatever position a caller waits for.
	// Events go over a channel so that the fold can take everything
	// already delivered as one batch.
	events := make(chan eventstore.RecordedEvent, maxBatch)
	subscribed := make(chan error, 1)
	after := c.Position()
	go func() {
		defer close(events)
		subscribed <- store.SubscribeAll(ctx, after, eventstore.Filter{}, func(e eventstore.RecordedEvent) error {
			select {
			case events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// On return, stop the subscription and let it finish before Run does.
	defer func() {
		cancel()
		for range events {
		}
	}()

	batch := make([]eventstore.RecordedEvent, 0, maxBatch)
	for {
		e, ok := <-events
		if !ok {
			return fmt.Errorf("cabinet: subscription after %d: %w", c.Position(), <-subscribed)
		}
		batch = append(batch[:0], e)
	drain:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-events:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		if err := c.apply(batch); err != nil {
			return err
		}
		clear(batch) // let folded payloads go
	}
}
