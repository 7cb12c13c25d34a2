package derived

import (
	"context"
	"errors"
	"fmt"
	"time"

	"lifesituations/domain/eventstore"
)

// MaxBatch bounds the events folded in one batch: enough to share the
// fold's fixed costs among many events when catching up, small enough to
// keep each batch short.
const MaxBatch = 1000

// MaxLinger bounds how long a batch waits for more events once the
// subscription has delivered nothing new: a batch is folded and made
// visible as soon as it is full, as soon as a WaitFor caller waits for a
// position it holds, or after MaxLinger, whichever comes first. Readers
// that do not wait (a citizen opening the cabinet) may see the read model
// that much behind the log, so it is short: under load, batches grow
// anyway with what arrives while the previous one folds. 50 ms made a
// situation visible about 50 ms later at 500 events/s; no linger at all
// cost about 10% of a burst's throughput, 2 ms nothing measurable.
const MaxLinger = 2 * time.Millisecond

// Fold is what Run needs of a read model.
type Fold struct {
	// Reset empties the read model (and Rewinds its Progress) so that the
	// log is folded again from its start.
	Reset func() error
	// Apply folds a batch of events, in log order, and Publishes the
	// position once readers see them. Events at or before the position are
	// skipped.
	Apply func([]eventstore.RecordedEvent) error
}

// Run folds the global log from the position, then follows it, until ctx
// is done (it then returns ctx's error) or folding fails. Events are folded
// in batches of whatever has arrived, up to MaxBatch or what MaxLinger
// gathers, one Apply each; WaitFor wakes once Apply publishes. A position
// ahead of the store's last position (a store restored from an older
// backup) Resets the read model to fold the log again.
// Only one Run may be active at a time.
func (p *Progress) Run(ctx context.Context, store eventstore.Store, f Fold) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New(p.name + ": already running")
	}
	defer p.running.Store(false)
	p.setFailed(nil)
	err := p.run(ctx, store, f)
	if ctx.Err() == nil {
		p.setFailed(err)
	}
	return err
}

func (p *Progress) run(ctx context.Context, store eventstore.Store, f Fold) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	last, err := store.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("%s: last position of the log: %w", p.name, err)
	}
	if p.Position() > last {
		if err := f.Reset(); err != nil {
			return err
		}
	}

	// The subscription takes the whole log, not only the streams the read
	// model folds, so that the position reaches whatever position a caller
	// waits for. Events go over a channel so that the fold can take
	// everything already delivered as one batch.
	events := make(chan eventstore.RecordedEvent, MaxBatch)
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

	batch := make([]eventstore.RecordedEvent, 0, MaxBatch)
	linger := time.NewTimer(p.linger)
	linger.Stop()
	for {
		e, ok := <-events
		if !ok {
			return fmt.Errorf("%s: subscription after %d: %w", p.name, p.Position(), <-subscribed)
		}
		batch = append(batch[:0], e)
		p.gather(events, &batch, linger)
		if err := f.Apply(batch); err != nil {
			return err
		}
		clear(batch) // let folded payloads go
	}
}

// gather adds to batch what events has delivered already, then what it
// delivers while nobody waits for a position the batch holds, until the
// batch is full, events is closed, or p.linger has passed.
func (p *Progress) gather(events <-chan eventstore.RecordedEvent, batch *[]eventstore.RecordedEvent, linger *time.Timer) {
	lingering := false
	defer func() {
		if lingering {
			linger.Stop()
		}
	}()
	for len(*batch) < MaxBatch {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			*batch = append(*batch, e)
			continue
		default:
		}
		if p.awaited((*batch)[len(*batch)-1].Position) {
			return
		}
		if !lingering {
			linger.Reset(p.linger)
			lingering = true
		}
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			*batch = append(*batch, e)
		case <-p.waiting:
		case <-linger.C:
			lingering = false
			return
		}
	}
}
