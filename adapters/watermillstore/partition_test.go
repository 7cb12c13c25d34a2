package watermillstore_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// TestPartitionsSplitTheKeys runs 3 partitions of one group over 500 events
// of 50 keys: every event is delivered by exactly one partition, each key's
// events in order; restarted from their checkpoints, the partitions deliver
// only what came after.
func TestPartitionsSplitTheKeys(t *testing.T) {
	const (
		keys       = 50
		rounds     = 10
		partitions = 3
		topic      = "person-"
	)
	for _, tc := range []struct {
		name string
		// stream of key k's events, and the partition key (nil: stream).
		stream func(k int) string
		key    func(eventstore.RecordedEvent) string
	}{
		{
			name:   "by stream",
			stream: func(k int) string { return fmt.Sprintf("person-%02d", k) },
		},
		{
			name:   "by key function",
			stream: func(k int) string { return fmt.Sprintf("person-shard-%d", k%4) },
			key:    func(ev eventstore.RecordedEvent) string { return ev.Metadata.Extra["key"] },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t)
			// keyOf is the partition key of key k's events.
			keyOf := func(k int) string {
				if tc.key == nil {
					return tc.stream(k)
				}
				return strconv.Itoa(k)
			}
			event := func(k, seq int) eventstore.StreamAppend {
				return eventstore.StreamAppend{
					Stream:   tc.stream(k),
					Expected: eventstore.Any,
					Events: []eventstore.Event{{
						ID:       uuid.New(),
						Type:     "fact",
						Data:     []byte(strconv.Itoa(seq)),
						Metadata: eventstore.Metadata{Extra: map[string]string{"key": keyOf(k), "seq": strconv.Itoa(seq)}},
					}},
				}
			}
			// Rounds interleave the keys in the log; one multi-stream
			// append per round keeps the setup to a few syncs.
			want := make([]int, partitions) // events each partition owns
			for r := range rounds {
				var appends []eventstore.StreamAppend
				for k := range keys {
					appends = append(appends, event(k, r))
					want[watermillstore.PartitionOf(keyOf(k), partitions)]++
				}
				if _, err := store.AppendMany(context.Background(), appends); err != nil {
					t.Fatal(err)
				}
			}

			checkpoints := watermillstore.NewMemoryCheckpoints()
			subscribe := func(p int) (*watermillstore.Subscriber, <-chan *message.Message) {
				sub := newSubscriber(t, store, watermillstore.SubscriberConfig{
					Topics:        watermillstore.StreamPrefix,
					ConsumerGroup: "sagas",
					Checkpoints:   checkpoints,
					Partition:     &watermillstore.Partition{Index: p, Count: partitions, Key: tc.key},
				})
				msgs, err := sub.Subscribe(testContext(t), topic)
				if err != nil {
					t.Fatal(err)
				}
				return sub, msgs
			}

			var (
				mu        sync.Mutex
				delivered = map[string]int{} // event id -> partition
				nextSeq   = map[string]int{} // key -> next seq expected
				wg        sync.WaitGroup
			)
			for p := range partitions {
				sub, msgs := subscribe(p)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer sub.Close()
					for range want[p] {
						msg, err := next(msgs)
						if err != nil {
							t.Errorf("partition %d: %v", p, err)
							return
						}
						key := msg.Metadata.Get("key")
						seq, _ := strconv.Atoi(msg.Metadata.Get("seq"))
						if got := watermillstore.PartitionOf(key, partitions); got != p {
							t.Errorf("partition %d delivered key %s of partition %d", p, key, got)
						}
						mu.Lock()
						if q, dup := delivered[msg.UUID]; dup {
							t.Errorf("event %s delivered by partitions %d and %d", msg.UUID, q, p)
						}
						delivered[msg.UUID] = p
						if seq != nextSeq[key] {
							t.Errorf("partition %d: key %s seq %d, want %d", p, key, seq, nextSeq[key])
						}
						nextSeq[key] = seq + 1
						mu.Unlock()
						msg.Ack()
					}
				}()
			}
			wg.Wait()
			if len(delivered) != keys*rounds {
				t.Fatalf("%d events delivered, want %d", len(delivered), keys*rounds)
			}

			// One new event per partition, then restart: each partition's
			// first delivery is its new event, so the checkpoints kept
			// every earlier event, its own and the others', behind.
			var appends []eventstore.StreamAppend
			for p := range partitions {
				k := 0
				for watermillstore.PartitionOf(keyOf(k), partitions) != p {
					k++
				}
				appends = append(appends, event(k, rounds))
			}
			if _, err := store.AppendMany(context.Background(), appends); err != nil {
				t.Fatal(err)
			}
			for p, a := range appends {
				_, msgs := subscribe(p)
				msg := receive(t, msgs)
				if msg.UUID != a.Events[0].ID.String() {
					t.Errorf("partition %d restarted with %s of %s, want its new event", p,
						msg.Metadata.Get(watermillstore.MetadataPosition), msg.Metadata.Get(watermillstore.MetadataStream))
				}
				msg.Ack()
			}
		})
	}
}
