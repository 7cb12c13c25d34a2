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
// read with short-lived iterators, or taken from the tail of recent commits
// (tail.go), and handed over outside them, so a slow handler never holds up
// the writer. Delivered events may be shared with other subscriptions: a
// handler must not modify Data or Metadata.Extra in place.
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
		batch, after, atEnd, err = s.follow(batch[:0], after, &filter, subscribeBatch, in)
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

// follow reads the events after position after that pass the filter, up to
// max: from the tail of recently committed events when it holds the one
// after position after, else from the database (see scan).
func (s *Store) follow(dst []eventstore.RecordedEvent, after eventstore.Position, f *eventstore.Filter, max int, in interner) ([]eventstore.RecordedEvent, eventstore.Position, bool, error) {
	last := s.last.Load()
	if dst, pos, ok := s.tail.read(dst, after, last, f, max); ok {
		return dst, pos, pos >= last, nil
	}
	return s.scan(dst, after, f, max, in)
}
