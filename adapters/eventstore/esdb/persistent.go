package esdb

import (
	"context"
	"fmt"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"lifesituations/domain/eventstore"
)

// PersistentOption configures SubscribePersistent.
type PersistentOption func(*persistentConfig)

type persistentConfig struct {
	buffer     uint32
	maxRetries int32
	timeoutMs  int32
}

// WithBufferSize bounds the events the server hands this consumer before
// it acknowledges them (default 32).
func WithBufferSize(n int) PersistentOption {
	return func(c *persistentConfig) { c.buffer = uint32(max(1, n)) }
}

// WithMessageTimeout sets, when the group is created, how long the server
// waits for an acknowledgement before it retries an event (default 30 s),
// and how many retries it makes before parking the event (default 10).
func WithMessageTimeout(ms int32, maxRetries int32) PersistentOption {
	return func(c *persistentConfig) { c.timeoutMs, c.maxRetries = ms, maxRetries }
}

// SubscribePersistent joins the competing consumers of a persistent
// subscription group to $all, creating the group if it does not exist:
// from the start of $all, with the filter applied on the server (see
// serverFilter; a group's filter is fixed when it is created, and this
// checks the given one on every event as well), with the Pinned consumer
// strategy. Pinned hashes each event's stream into one of 1024 buckets and
// gives every bucket to one consumer, so that while the group's members
// stay the same the events of a stream (a person) go to one worker, in
// order; when a worker leaves, its buckets and its unacknowledged events
// go to the others. Delivery is at least once: an event may come again
// after a worker stops or the handler fails, with the same position.
//
// Each event the handler accepts is acknowledged; one it fails is nacked
// for a retry, and SubscribePersistent returns the handler's error. It
// returns when ctx is done (its error) or the store closes
// (eventstore.ErrClosed), and subscribes again after a dropped
// connection. Other events of $all (system events, the adapter's markers,
// those the filter leaves out) are acknowledged without a call.
//
// This is not part of the eventstore.Store port: it is for the workers
// that split the person space between them.
func (s *Store) SubscribePersistent(ctx context.Context, group string, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error, opts ...PersistentOption) error {
	if group == "" {
		return fmt.Errorf("persistent subscription: empty group name")
	}
	cfg := persistentConfig{buffer: 32, maxRetries: 10, timeoutMs: 30_000}
	for _, o := range opts {
		o(&cfg)
	}
	if err := s.usable(ctx); err != nil {
		return err
	}
	if err := s.ensureGroup(ctx, group, filter, cfg); err != nil {
		return err
	}
	rc := reconnect{s: s}
	for {
		var sub *esdbclient.PersistentSubscription
		err := s.guard(ctx, func(_ context.Context, c *esdbclient.Client) error {
			var err error
			sub, err = c.SubscribeToPersistentSubscriptionToAll(ctx, group, esdbclient.SubscribeToPersistentSubscriptionOptions{BufferSize: cfg.buffer})
			return err
		})
		if err != nil {
			if ctx.Err() != nil || s.isClosed() || isCode(err, esdbclient.ErrorCodeResourceNotFound) {
				return s.failure(ctx, fmt.Errorf("persistent subscription %s: %w", group, err))
			}
			if err := rc.wait(ctx, fmt.Errorf("persistent subscription %s: %w", group, err)); err != nil {
				return s.failure(ctx, err)
			}
			continue
		}
		started := time.Now()
		delivered, err := s.deliverPersistent(ctx, sub, filter, handle)
		_ = sub.Close()
		if err != nil {
			return err
		}
		if delivered || time.Since(started) > time.Second {
			rc.ok()
		}
		if err := rc.wait(ctx, errDropped); err != nil {
			return s.failure(ctx, err)
		}
	}
}

// ensureGroup creates the group unless it exists.
func (s *Store) ensureGroup(ctx context.Context, group string, filter eventstore.Filter, cfg persistentConfig) error {
	settings := esdbclient.SubscriptionSettingsDefault()
	settings.ConsumerStrategyName = esdbclient.ConsumerStrategyPinned
	settings.MaxRetryCount = cfg.maxRetries
	settings.MessageTimeout = cfg.timeoutMs
	err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		return c.CreatePersistentSubscriptionToAll(ctx, group, esdbclient.PersistentAllSubscriptionOptions{
			StartFrom: esdbclient.Start{},
			Filter:    serverFilter(filter),
			Settings:  &settings,
		})
	})
	if err != nil && !isCode(err, esdbclient.ErrorCodeResourceAlreadyExists) {
		return s.failure(ctx, fmt.Errorf("create persistent subscription %s: %w", group, err))
	}
	return nil
}

// DeletePersistent deletes a persistent subscription group to $all.
func (s *Store) DeletePersistent(ctx context.Context, group string) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		return c.DeletePersistentSubscriptionToAll(ctx, group, esdbclient.DeletePersistentSubscriptionOptions{})
	}); err != nil {
		return s.failure(ctx, fmt.Errorf("delete persistent subscription %s: %w", group, err))
	}
	return nil
}

func (s *Store) deliverPersistent(ctx context.Context, sub *esdbclient.PersistentSubscription, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) (delivered bool, err error) {
	defer s.closeOnClosing(sub)()
	for {
		e := sub.Recv()
		switch {
		case e.EventAppeared != nil:
			ev := e.EventAppeared.Event
			re := ev.OriginalEvent()
			if !isPortEvent(re.StreamID, re.EventType) || !filter.Match(re.StreamID, re.EventType) {
				if err := sub.Ack(ev); err != nil {
					return delivered, s.failure(ctx, fmt.Errorf("persistent subscription: ack: %w", err))
				}
				continue
			}
			ord, err := s.idx.ordinalAt(ctx, re.Position)
			if err != nil {
				return delivered, s.failure(ctx, fmt.Errorf("persistent subscription: %w", err))
			}
			rec, err := decodeEvent(re, ord)
			if err != nil {
				_ = sub.Nack(err.Error(), esdbclient.NackActionPark, ev)
				return delivered, fmt.Errorf("persistent subscription: %w", err)
			}
			if err := ctx.Err(); err != nil {
				return delivered, err
			}
			if err := handle(rec); err != nil {
				_ = sub.Nack(err.Error(), esdbclient.NackActionRetry, ev)
				return delivered, err
			}
			if err := sub.Ack(ev); err != nil {
				return delivered, s.failure(ctx, fmt.Errorf("persistent subscription: ack: %w", err))
			}
			delivered = true
		case e.SubscriptionDropped != nil:
			if err := ctx.Err(); err != nil {
				return delivered, err
			}
			if s.isClosed() {
				return delivered, eventstore.ErrClosed
			}
			s.log.Warn("EventStoreDB persistent subscription dropped; subscribing again", "err", e.SubscriptionDropped.Error)
			return delivered, nil
		}
	}
}
