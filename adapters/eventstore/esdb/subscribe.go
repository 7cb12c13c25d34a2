package esdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"lifesituations/domain/eventstore"
)

// serverFilter maps the port's filter onto one EventStoreDB server-side
// filter, which selects on stream names or on event types, not both: the
// stream prefixes when there are some, else the type prefixes, else
// EventStoreDB's usual exclusion of system events (types starting with
// "$", which also leaves out the adapter's markers). What the server
// filter does not cover (the type prefixes when both are given, system
// streams) the adapter checks on each event it receives.
func serverFilter(f eventstore.Filter) *esdbclient.SubscriptionFilter {
	switch {
	case len(f.StreamPrefixes) > 0:
		return &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: f.StreamPrefixes}
	case len(f.TypePrefixes) > 0:
		return &esdbclient.SubscriptionFilter{Type: esdbclient.EventFilterType, Prefixes: f.TypePrefixes}
	default:
		return esdbclient.ExcludeSystemEventsFilter()
	}
}

// SubscribeAll delivers the events after position after that pass the
// filter: a catch-up subscription to $all with the filter applied on the
// server, stored events first, then live ones. If the subscription drops
// (a node restarts, the leader changes), it subscribes again from the
// last event delivered, so the handler sees no gap and no repeat.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	// From after, or from the end of the log when after lies beyond it:
	// the positions of the events tell which to skip.
	from, skip, _, err := s.startAfter(ctx, after)
	if err != nil {
		return s.failure(ctx, fmt.Errorf("subscribe: %w", err))
	}
	sf := serverFilter(filter)
	rc := reconnect{s: s}
	for {
		var sub *esdbclient.Subscription
		err := s.guard(ctx, func(_ context.Context, c *esdbclient.Client) error {
			var err error
			sub, err = c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{From: from, Filter: sf})
			return err
		})
		if err != nil {
			if ctx.Err() != nil || s.isClosed() {
				return s.failure(ctx, fmt.Errorf("subscribe to $all: %w", err))
			}
			if err := rc.wait(ctx, fmt.Errorf("subscribe to $all: %w", err)); err != nil {
				return s.failure(ctx, err)
			}
			continue
		}
		started := time.Now()
		delivered, err := s.deliver(ctx, sub, after, filter, &skip, handle)
		_ = sub.Close()
		if err != nil {
			return err
		}
		if delivered || time.Since(started) > time.Second {
			rc.ok()
		}
		if skip != nil {
			from = *skip
		}
		if err := rc.wait(ctx, errDropped); err != nil {
			return s.failure(ctx, err)
		}
	}
}

// errDropped: a subscription ended without an error of its own.
var errDropped = errors.New("subscription dropped")

func (s *Store) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// closeOnClosing closes sub if the store closes before the returned stop
// is called: a subscription's Recv blocks on its stream, and closing the
// subscription is what unblocks it.
func (s *Store) closeOnClosing(sub interface{ Close() error }) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-s.closing:
			_ = sub.Close()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// deliver hands a subscription's events to the handler until it drops
// (returning nil error: subscribe again from *skip) or must stop.
func (s *Store) deliver(ctx context.Context, sub *esdbclient.Subscription, after eventstore.Position, filter eventstore.Filter, skip **esdbclient.Position, handle func(eventstore.RecordedEvent) error) (delivered bool, err error) {
	defer s.closeOnClosing(sub)()
	for {
		e := sub.Recv()
		switch {
		case e.EventAppeared != nil:
			re := e.EventAppeared.OriginalEvent()
			if *skip != nil && !posLess(**skip, re.Position) {
				continue
			}
			if isPortEvent(re.StreamID, re.EventType) && filter.Match(re.StreamID, re.EventType) {
				ord, err := s.idx.ordinalAt(ctx, re.Position)
				if err != nil {
					return delivered, s.failure(ctx, fmt.Errorf("subscribe: %w", err))
				}
				if ord > after {
					rec, err := decodeEvent(re, ord)
					if err != nil {
						return delivered, fmt.Errorf("subscribe: %w", err)
					}
					if err := ctx.Err(); err != nil {
						return delivered, err
					}
					if err := handle(rec); err != nil {
						return delivered, err
					}
					delivered = true
				}
			}
			p := re.Position
			*skip = &p
		case e.CheckPointReached != nil:
			if *skip == nil || posLess(**skip, *e.CheckPointReached) {
				p := *e.CheckPointReached
				*skip = &p
			}
		case e.SubscriptionDropped != nil:
			if err := ctx.Err(); err != nil {
				return delivered, err
			}
			if s.isClosed() {
				return delivered, eventstore.ErrClosed
			}
			s.log.Warn("EventStoreDB subscription to $all dropped; subscribing again", "err", e.SubscriptionDropped.Error)
			return delivered, nil
		}
	}
}
