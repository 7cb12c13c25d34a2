package main

import (
	"context"
	"errors"
	"fmt"

	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/sagarouter"
	"lifesituations/domain/eventstore"
)

// sharedGroup is the EventStoreDB persistent subscription group to $all
// that the --role worker processes join to split the person space.
const sharedGroup = "lifesituations-situations"

// sharedBuffer bounds the events the server hands one consumer before it
// acknowledges them: the consumers handle one event at a time, so a few
// are enough to hide the round trip, and few are handed back to the
// others when a worker stops.
const sharedBuffer = 16

// sharedTriggers joins the worker processes' persistent subscription
// group on EventStoreDB (Pinned: each person's stream goes to one
// consumer; a stopped worker's persons go to the others).
func sharedTriggers(store eventstore.Store) (sagarouter.SharedSubscribe, error) {
	es, ok := unwrapStore(store).(*esdb.Store)
	if !ok {
		return nil, errors.New("--role worker shares the person space through EventStoreDB persistent subscriptions: it needs --store esdb://")
	}
	// The subscription reads below the personal-data decorator: open what
	// it delivers as every read through the decorator is opened.
	open := func(context.Context, *eventstore.RecordedEvent) error { return nil }
	if s, ok := store.(*sealed.Store); ok {
		open = s.Open
	}
	return func(ctx context.Context, handle func(eventstore.RecordedEvent) error) error {
		return es.SubscribePersistent(ctx, sharedGroup, sagarouter.SharedFilter, func(e eventstore.RecordedEvent) error {
			if err := open(ctx, &e); err != nil {
				return fmt.Errorf("open a shared delivery: %w", err)
			}
			return handle(e)
		}, esdb.WithBufferSize(sharedBuffer))
	}, nil
}

// unwrapStore finds the store under the decorators serve puts around it.
func unwrapStore(s eventstore.Store) eventstore.Store {
	for {
		switch w := s.(type) {
		case killAfterAppend:
			s = w.Store
		case *sealed.Store:
			s = w.Inner()
		case interface{ Unwrap() eventstore.Store }:
			s = w.Unwrap()
		default:
			return s
		}
	}
}
