package watermillstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// BenchmarkDeliver delivers b.N stored events as messages, each
// acknowledged at once, with checkpoints kept in memory: the subscriber's
// own cost per message (building it, handing it over, checkpointing).
func BenchmarkDeliver(b *testing.B) {
	store, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	appendEvents(b, store, b.N)

	sub, err := watermillstore.NewSubscriber(store, watermillstore.SubscriberConfig{
		Topics:        watermillstore.StreamPrefix,
		ConsumerGroup: "bench", Checkpoints: watermillstore.NewMemoryCheckpoints(),
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	b.ResetTimer()
	msgs, err := sub.Subscribe(ctx, "person-")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		msg, ok := <-msgs
		if !ok {
			b.Fatal("messages channel closed")
		}
		msg.Ack()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func appendEvents(b *testing.B, store eventstore.Store, n int) {
	b.Helper()
	const perAppend = 500
	for i := 0; i < n; i += perAppend {
		evs := make([]eventstore.Event, min(perAppend, n-i))
		for j := range evs {
			evs[j] = eventstore.Event{
				ID: uuid.New(), Type: "person.moved", SchemaVersion: 1,
				Data: []byte(fmt.Sprintf(`{"person_id":%q,"region":"RU-MOW"}`, uuid.NewString())),
				Metadata: eventstore.Metadata{
					Source: "urn:registry:population", SourceEventID: fmt.Sprint("pop-", i+j),
					CorrelationID: uuid.NewString(), Actor: "urn:registry:population",
				},
			}
		}
		if _, err := store.Append(context.Background(), fmt.Sprintf("person-%d", i), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
}
