package register

import (
	"context"
	"errors"
	"fmt"
	"time"

	"lifesituations/domain/eventstore"
)

// maxBatch bounds the events folded in one transaction: enough to share a
// sync among many events when catching up, small enough to keep each
// transaction short.
const maxBatch = 1000

// maxLinger bounds how long a batch waits for more events once the
// subscription has delivered nothing new: a batch is committed as soon as
// it is full, as soon as a WaitFor caller waits for a position it holds,
// or after maxLinger, whichever comes first. Readers that do not wait may
// see the register that much behind the log.
const maxLinger = 50 * time.Millisecond

// Run folds the global log from the checkpoint, then follows it, until ctx
// is done (it then returns ctx's error) or folding fails. Events are folded
// in batches of whatever has arrived, up to maxBatch or what maxLinger
// gathers, one transaction each with the checkpoint; WaitFor wakes once it
// is committed. A checkpoint ahead of the store's last position (a store
// restored from an older backup) empties the register to fold the log
// again.
// Only one Run may be active at a time.
func (p *Projection) Run(ctx context.Context, store eventstore.Store) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("register: already running")
	}
	defer p.running.Store(false)
	p.setFailed(nil)

	err := p.run(ctx, store)
	if ctx.Err() == nil {
		p.setFailed(err)
	}
	return err
}

func (p *Projection) run(ctx context.Context, store eventstore.Store) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The subscription hands events over a channel so that the fold can
	// take everything already delivered as one batch.
	last, err := store.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("register: last position of the log: %w", err)
	}
	if p.Position() > last {
		if err := p.reset(); err != nil {
			return err
		}
	}

	events := make(chan eventstore.RecordedEvent, maxBatch)
	subscribed := make(chan error, 1)
	after := p.Position()
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
	linger := time.NewTimer(maxLinger)
	linger.Stop()
	for {
		e, ok := <-events
		if !ok {
			return fmt.Errorf("register: subscription after %d: %w", p.Position(), <-subscribed)
		}
		batch = append(batch[:0], e)
		gather(events, &batch, linger, p.waiting, p.awaited)
		if err := p.Apply(batch); err != nil {
			return err
		}
		clear(batch) // let folded payloads go
	}
}

// gather adds to batch what events has delivered already, then what it
// delivers while nobody waits for a position the batch holds, until the
// batch is full, events is closed, or maxLinger has passed. waiting tells
// that a new waiter came; awaited whether a waiter would be released by
// committing up to a position.
func gather(events <-chan eventstore.RecordedEvent, batch *[]eventstore.RecordedEvent, linger *time.Timer,
	waiting <-chan struct{}, awaited func(eventstore.Position) bool) {
	lingering := false
	defer func() {
		if lingering {
			linger.Stop()
		}
	}()
	for len(*batch) < maxBatch {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			*batch = append(*batch, e)
			continue
		default:
		}
		if awaited((*batch)[len(*batch)-1].Position) {
			return
		}
		if !lingering {
			linger.Reset(maxLinger)
			lingering = true
		}
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			*batch = append(*batch, e)
		case <-waiting:
		case <-linger.C:
			lingering = false
			return
		}
	}
}
