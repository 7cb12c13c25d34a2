package esdb

import (
	"context"
	"fmt"
	"math"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"lifesituations/domain/eventstore"
)

// ReadStream reads up to max events of a stream from revision from
// (inclusive). Backwards from a revision past the end starts at the last
// event; forwards from past the end returns no event.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Revision, dir eventstore.Direction, max int) ([]eventstore.RecordedEvent, error) {
	if err := checkStream(stream); err != nil {
		return nil, fmt.Errorf("read %q: %w", stream, err)
	}
	if max <= 0 {
		return nil, fmt.Errorf("read %s: max %d, want > 0", stream, max)
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	opts := esdbclient.ReadStreamOptions{Direction: esdbclient.Forwards, From: esdbclient.Revision(from)}
	if dir == eventstore.Backwards {
		opts.Direction = esdbclient.Backwards
		if from == math.MaxUint64 {
			opts.From = esdbclient.End{}
		}
	}
	evs, found, err := s.readStream(ctx, stream, opts, uint64(max))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("read %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	if len(evs) == 0 && dir == eventstore.Backwards && from != math.MaxUint64 {
		// From past the end: the port starts at the last event, whether
		// or not the server clamps the revision itself.
		opts.From = esdbclient.End{}
		if evs, found, err = s.readStream(ctx, stream, opts, uint64(max)); err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("read %s: %w", stream, eventstore.ErrStreamNotFound)
		}
	}
	out := make([]eventstore.RecordedEvent, 0, len(evs))
	for _, ev := range evs {
		re := ev.OriginalEvent()
		if !isPortEvent(re.StreamID, re.EventType) {
			continue // not written through the port
		}
		pos, err := s.idx.ordinalAt(ctx, re.Position)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		rec, err := decodeEvent(re, pos)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// ReadAll reads up to max events after position after that pass the
// filter. EventStoreDB's read of $all takes no filter in the Go client
// v4.2.0, so the filter is applied here to the events read; the events
// between are read anyway, since counting them is what gives the
// positions.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, max int) ([]eventstore.RecordedEvent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("read all: max %d, want > 0", max)
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	from, skip, reached, err := s.startAfter(ctx, after)
	if err != nil || !reached {
		return nil, err
	}
	ord := after
	var out []eventstore.RecordedEvent
	for {
		page, err := s.readAllPage(ctx, from, esdbclient.Forwards, readPage)
		if err != nil {
			return nil, err
		}
		for _, ev := range page {
			re := ev.OriginalEvent()
			if skip != nil && !posLess(*skip, re.Position) {
				continue
			}
			if !isPortEvent(re.StreamID, re.EventType) {
				continue
			}
			ord++
			if !filter.Match(re.StreamID, re.EventType) {
				continue
			}
			rec, err := decodeEvent(re, ord)
			if err != nil {
				return nil, fmt.Errorf("read all: %w", err)
			}
			out = append(out, rec)
			if len(out) == max {
				return out, nil
			}
		}
		if len(page) < readPage {
			return out, nil
		}
		last := page[len(page)-1].OriginalEvent().Position
		from, skip = last, &last
		if err := s.usable(ctx); err != nil {
			return nil, err
		}
	}
}

// startAfter returns where a read of $all starts so as to see every port
// event after port position ord: the $all position of ord (skip: events
// at or before it were counted), or the start. When the log does not reach
// ord yet, it starts after the last event and reached is false.
func (s *Store) startAfter(ctx context.Context, ord eventstore.Position) (from esdbclient.AllPosition, skip *esdbclient.Position, reached bool, err error) {
	reached = true
	if s.idx.known() < ord {
		last, err := s.LastPosition(ctx)
		if err != nil {
			return nil, nil, false, err
		}
		if last < ord {
			ord, reached = last, false
		}
	}
	if ord == 0 {
		return esdbclient.Start{}, nil, reached, nil
	}
	p, err := s.idx.positionOf(ctx, ord)
	if err != nil {
		return nil, nil, false, err
	}
	return p, &p, reached, nil
}

// LastPosition is the position of the last event in $all that is the
// port's, once the index has numbered it.
func (s *Store) LastPosition(ctx context.Context) (eventstore.Position, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	p, ok, err := s.idx.lastPortEvent(ctx)
	if err != nil || !ok {
		return 0, err
	}
	ord, err := s.idx.ordinalAt(ctx, p)
	if err != nil {
		return 0, s.failure(ctx, fmt.Errorf("last position: %w", err))
	}
	return ord, nil
}
