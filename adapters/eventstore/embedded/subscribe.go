package embedded

import (
	"context"
	"fmt"

	"lifesituations/domain/eventstore"
)

// subscribeBatch bounds the events a subscription holds in memory.
const subscribeBatch = 1024

// SubscribeAll delivers the events after position after that pass the
// filter: the stored ones, then live ones as they are committed. Events are
// read with short-lived iterators and handed over outside them, so a slow
// handler never holds up the writer.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) error {
	in := interner{}
	batch := make([]eventstore.RecordedEvent, 0, subscribeBatch)
	for {
		if err := s.usable(ctx); err != nil {
			return err
		}
		// Taken before reading: a commit after the read closes it.
		committed := s.commits.wait()

		var (
			atEnd bool
			err   error
		)
		batch, after, atEnd, err = s.scan(batch[:0], after, &filter, subscribeBatch, in)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		for _, ev := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := handle(ev); err != nil {
				return err
			}
		}
		clear(batch) // let delivered payloads go
		if !atEnd {
			continue
		}
		select {
		case <-committed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return eventstore.ErrClosed
		}
	}
}
