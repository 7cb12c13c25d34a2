package watermillstore_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// publishNumbered publishes n messages to topic in one append and returns
// their UUIDs in order.
func publishNumbered(t *testing.T, pub message.Publisher, topic string, n int) []string {
	t.Helper()
	msgs := make([]*message.Message, n)
	ids := make([]string, n)
	for i := range msgs {
		msgs[i] = message.NewMessage(watermill.NewUUID(), nil)
		ids[i] = msgs[i].UUID
	}
	if err := pub.Publish(topic, msgs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// expectInOrder receives ids in order, acknowledging each.
func expectInOrder(t *testing.T, msgs <-chan *message.Message, ids []string) {
	t.Helper()
	for i, id := range ids {
		msg := receive(t, msgs)
		if msg.UUID != id {
			t.Fatalf("message %d of %d: got %s, want %s", i+1, len(ids), msg.UUID, id)
		}
		msg.Ack()
	}
}

// TestResumeAfterClose: a subscriber that saves in batches and is closed
// with a message in flight resumes, from a reopened checkpoint file,
// exactly at that message: stopping saves what the batch held.
func TestResumeAfterClose(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	ids := publishNumbered(t, pub, "situation-1", 20)
	path := filepath.Join(t.TempDir(), "checkpoints.db")

	checkpoints, err := watermillstore.OpenBoltCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	config := watermillstore.SubscriberConfig{ConsumerGroup: "sagas", Checkpoints: checkpoints}
	sub := newSubscriber(t, store, config)
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids[:10])
	if inFlight := receive(t, msgs); inFlight.UUID != ids[10] {
		t.Fatalf("11th message %s, want %s", inFlight.UUID, ids[10])
	}
	if err := sub.Close(); err != nil { // leaves the 11th unacknowledged
		t.Fatal(err)
	}
	if err := checkpoints.Close(); err != nil {
		t.Fatal(err)
	}

	if config.Checkpoints, err = watermillstore.OpenBoltCheckpoints(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = config.Checkpoints.(*watermillstore.BoltCheckpoints).Close() })
	msgs, err = newSubscriber(t, store, config).Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids[10:])
	// Nothing else was due: the next message is one published now.
	expectInOrder(t, msgs, publishNumbered(t, pub, "situation-1", 1))
}

// crashable drops every Save once crashed, as a process that dies before
// its next save would.
type crashable struct {
	watermillstore.Checkpoints
	crashed atomic.Bool
}

func (c *crashable) Save(ctx context.Context, key string, pos eventstore.Position) error {
	if c.crashed.Load() {
		return nil
	}
	return c.Checkpoints.Save(ctx, key, pos)
}

// TestResumeAfterCrashWithBatchedCheckpoints: saving every 4th Ack, a crash
// after 10 Acks delivers again the 2 acknowledged since the last save, and
// nothing is skipped.
func TestResumeAfterCrashWithBatchedCheckpoints(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	ids := publishNumbered(t, pub, "situation-1", 20)
	checkpoints := &crashable{Checkpoints: watermillstore.NewMemoryCheckpoints()}
	config := watermillstore.SubscriberConfig{ConsumerGroup: "sagas", Checkpoints: checkpoints, CheckpointEvery: 4, CheckpointInterval: time.Hour}

	sub := newSubscriber(t, store, config)
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids[:10])
	receive(t, msgs) // the 11th is in flight: the handler has taken the 10th's Ack
	checkpoints.crashed.Store(true)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	config.Checkpoints = checkpoints.Checkpoints
	msgs, err = newSubscriber(t, store, config).Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids[8:])
}

func TestBoltCheckpointsPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoints.db")
	c, err := watermillstore.OpenBoltCheckpoints(path)
	if err != nil {
		t.Fatal(err)
	}
	if pos, err := c.Load(ctx, "k"); err != nil || pos != 0 {
		t.Fatalf("load of a new key: %d, %v; want 0, nil", pos, err)
	}
	if err := c.Save(ctx, "k", 42); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err = watermillstore.OpenBoltCheckpoints(path); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if pos, err := c.Load(ctx, "k"); err != nil || pos != 42 {
		t.Fatalf("load after reopen: %d, %v; want 42, nil", pos, err)
	}
}

// TestConsumerGroupsAreIndependent: each group has its own checkpoint.
func TestConsumerGroupsAreIndependent(t *testing.T) {
	store := openStore(t)
	ids := publishNumbered(t, newPublisher(t, store), "situation-1", 5)
	checkpoints := watermillstore.NewMemoryCheckpoints()
	subscribe := func(group string) <-chan *message.Message {
		sub := newSubscriber(t, store, watermillstore.SubscriberConfig{ConsumerGroup: group, Checkpoints: checkpoints})
		msgs, err := sub.Subscribe(testContext(t), "situation-1")
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}

	a := newSubscriber(t, store, watermillstore.SubscriberConfig{ConsumerGroup: "a", Checkpoints: checkpoints})
	msgs, err := a.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids[:3])
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	expectInOrder(t, subscribe("b"), ids)
	expectInOrder(t, subscribe("a"), ids[3:])
}

// TestCheckpointSavedAfterInterval: acknowledged messages and passed-over
// events are saved within CheckpointInterval even though the batch is far
// from full and the subscription goes idle, and never past the message in
// flight.
func TestCheckpointSavedAfterInterval(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	pub := newPublisher(t, store)
	ids := publishNumbered(t, pub, "situation-1", 3)
	// Passed over by a subscription to situation-1 (same prefix, other
	// stream): they advance its checkpoint too.
	publishNumbered(t, pub, "situation-10", 5)
	skippedTo, err := store.LastPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	more := publishNumbered(t, pub, "situation-1", 2)

	checkpoints := watermillstore.NewMemoryCheckpoints()
	key := watermillstore.CheckpointKey("sagas", "situation-1", nil)
	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{
		ConsumerGroup: "sagas", Checkpoints: checkpoints,
		CheckpointEvery: 1000, CheckpointInterval: 10 * time.Millisecond,
	})
	msgs, err := sub.Subscribe(testContext(t), "situation-1")
	if err != nil {
		t.Fatal(err)
	}
	expectInOrder(t, msgs, ids)
	inFlight := receive(t, msgs)
	if inFlight.UUID != more[0] {
		t.Fatalf("4th message %s, want %s", inFlight.UUID, more[0])
	}
	deadline := time.Now().Add(guard)
	for {
		pos, err := checkpoints.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if pos > skippedTo {
			t.Fatalf("checkpoint %d passes the unacknowledged message after %d", pos, skippedTo)
		}
		if pos == skippedTo {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %d, want %d within the interval", pos, skippedTo)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // several intervals: still not past it
	if pos, _ := checkpoints.Load(ctx, key); pos != skippedTo {
		t.Fatalf("checkpoint moved to %d with the message after %d in flight", pos, skippedTo)
	}
	inFlight.Ack()
	expectInOrder(t, msgs, more[1:])
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	last, _ := store.LastPosition(ctx)
	if pos, _ := checkpoints.Load(ctx, key); pos != last {
		t.Fatalf("checkpoint %d after Close, want %d", pos, last)
	}
}
