package watermillstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// TestNackRedelivers: a nacked message comes back, the same, before any
// later message; after its Ack the next one follows.
func TestNackRedelivers(t *testing.T) {
	store := openStore(t)
	ids := publishNumbered(t, newPublisher(t, store), "situation-1", 2)
	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{NackBackoff: time.Millisecond})
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}

	var first string
	for i := range 3 {
		msg := receive(t, msgs)
		if msg.UUID != ids[0] {
			t.Fatalf("delivery %d: %s, want the nacked %s again", i+1, msg.UUID, ids[0])
		}
		if first == "" {
			first = msg.Metadata.Get(watermillstore.MetadataPosition)
		} else if got := msg.Metadata.Get(watermillstore.MetadataPosition); got != first {
			t.Fatalf("redelivery at position %s, first at %s", got, first)
		}
		msg.Nack()
		expectDone(t, msg.Context()) // each delivery's context ends with it
	}
	expectInOrder(t, msgs, ids)
}

func TestSubscriberLifecycle(t *testing.T) {
	store := openStore(t)
	if _, err := watermillstore.NewSubscriber(store, watermillstore.SubscriberConfig{ConsumerGroup: "g"}, nil); err == nil {
		t.Error("a group without checkpoints accepted")
	}
	bad := watermillstore.SubscriberConfig{Partition: &watermillstore.Partition{Index: 3, Count: 3}}
	if _, err := watermillstore.NewSubscriber(store, bad, nil); err == nil {
		t.Error("partition 3 of 3 accepted")
	}

	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{})
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, open := <-msgs:
		if open {
			t.Error("message after Close")
		}
	default:
		t.Error("channel still open when Close returned")
	}
	if err := sub.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := sub.Subscribe(testContext(t), "situation-1"); !errors.Is(err, watermillstore.ErrSubscriberClosed) {
		t.Errorf("subscribe after close: %v", err)
	}

	// Closing the store ends the subscriptions.
	msgs, err = newSubscriber(t, store, watermillstore.SubscriberConfig{}).Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, msgs)
}

// flaky fails its first subscription after one event, as a lost connection
// to a remote store would.
type flaky struct {
	eventstore.Store
	failed atomic.Bool
}

var errLost = errors.New("connection lost")

func (f *flaky) SubscribeAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) error {
	if f.failed.Swap(true) {
		return f.Store.SubscribeAll(ctx, after, filter, handle)
	}
	err := f.Store.SubscribeAll(ctx, after, filter, func(ev eventstore.RecordedEvent) error {
		if err := handle(ev); err != nil {
			return err
		}
		return errLost
	})
	if errors.Is(err, errLost) {
		return err
	}
	return fmt.Errorf("first subscription ended with %v, not the injected failure", err)
}

// TestResubscribesAfterStoreError: the subscription resumes after the last
// acknowledged event, with no gap and no repeat.
func TestResubscribesAfterStoreError(t *testing.T) {
	store := openStore(t)
	ids := publishNumbered(t, newPublisher(t, store), "situation-1", 3)
	sub := newSubscriber(t, &flaky{Store: store}, watermillstore.SubscriberConfig{RetryBackoff: time.Millisecond})
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids)
}
