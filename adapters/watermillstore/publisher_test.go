package watermillstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

func newPublisher(t *testing.T, store eventstore.Store) *watermillstore.Publisher {
	t.Helper()
	pub, err := watermillstore.NewPublisher(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	return pub
}

func newSubscriber(t *testing.T, store eventstore.Store, config watermillstore.SubscriberConfig) *watermillstore.Subscriber {
	t.Helper()
	sub, err := watermillstore.NewSubscriber(store, config, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func readStream(t *testing.T, store eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	events, err := store.ReadStream(context.Background(), stream, 0, eventstore.Forwards, 1000)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return events
}

func TestPublishMapsMessageOntoEventAndBack(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	occurred := time.Date(2024, 3, 1, 10, 0, 0, 123, time.UTC)

	msg := message.NewMessage(watermill.NewUUID(), []byte(`{"child":"Ann"}`))
	msg.Metadata.Set(watermillstore.MetadataEventType, "birth.registered")
	msg.Metadata.Set(watermillstore.MetadataSchemaVersion, "2")
	msg.Metadata.Set(watermillstore.MetadataOccurredAt, occurred.Format(time.RFC3339Nano))
	msg.Metadata.Set(watermillstore.MetadataCorrelationID, "corr-1")
	msg.Metadata.Set(watermillstore.MetadataCausationID, "cause-1")
	msg.Metadata.Set(watermillstore.MetadataSource, "civil-registry")
	msg.Metadata.Set(watermillstore.MetadataActor, "registrar-7")
	msg.Metadata.Set("tenant", "north")
	if err := pub.Publish("person-1", msg); err != nil {
		t.Fatal(err)
	}

	events := readStream(t, store, "person-1")
	if len(events) != 1 {
		t.Fatalf("stream has %d events, want 1", len(events))
	}
	ev := events[0]
	m := ev.Metadata
	switch {
	case ev.ID != watermillstore.EventID("person-1", msg.UUID):
		t.Errorf("id %s, want EventID(topic, uuid)", ev.ID)
	case ev.Type != "birth.registered" || ev.SchemaVersion != 2:
		t.Errorf("type %q schema %d", ev.Type, ev.SchemaVersion)
	case string(ev.Data) != `{"child":"Ann"}`:
		t.Errorf("data %s", ev.Data)
	case !m.OccurredAt.Equal(occurred) || m.CorrelationID != "corr-1" || m.CausationID != "cause-1" ||
		m.Source != "civil-registry" || m.Actor != "registrar-7":
		t.Errorf("metadata %+v", m)
	case len(m.Extra) != 2 || m.Extra["tenant"] != "north" || m.Extra[watermillstore.MetadataMessageUUID] != msg.UUID:
		t.Errorf("extra %v, want tenant and message_uuid only", m.Extra)
	}

	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{})
	msgs, err := sub.Subscribe(testContext(t), "person-1")
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if got.UUID != msg.UUID || string(got.Payload) != string(msg.Payload) {
		t.Errorf("delivered %s %s, want %s %s", got.UUID, got.Payload, msg.UUID, msg.Payload)
	}
	want := map[string]string{
		watermillstore.MetadataEventID:       ev.ID.String(),
		watermillstore.MetadataEventType:     "birth.registered",
		watermillstore.MetadataSchemaVersion: "2",
		watermillstore.MetadataStream:        "person-1",
		watermillstore.MetadataRevision:      "0",
		watermillstore.MetadataPosition:      strconv.FormatUint(ev.Position, 10),
		watermillstore.MetadataOccurredAt:    occurred.Format(time.RFC3339Nano),
		watermillstore.MetadataRecordedAt:    ev.Metadata.RecordedAt.Format(time.RFC3339Nano),
		watermillstore.MetadataCorrelationID: "corr-1",
		watermillstore.MetadataCausationID:   "cause-1",
		watermillstore.MetadataSource:        "civil-registry",
		watermillstore.MetadataActor:         "registrar-7",
		"tenant":                             "north",
	}
	for k, v := range want {
		if got.Metadata.Get(k) != v {
			t.Errorf("delivered %s = %q, want %q", k, got.Metadata.Get(k), v)
		}
	}
	if len(got.Metadata) != len(want) {
		t.Errorf("delivered metadata %v, want exactly %v", got.Metadata, want)
	}
}

func TestPublishIsIdempotentPerTopic(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	msg := message.NewMessage("order-42", nil) // not a UUID: the id is derived all the same

	for range 2 {
		if err := pub.Publish("situation-a", msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish("situation-b", msg); err != nil {
		t.Fatal(err)
	}
	a, b := readStream(t, store, "situation-a"), readStream(t, store, "situation-b")
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("situation-a has %d events, situation-b %d; want 1 each", len(a), len(b))
	}
	if a[0].ID == b[0].ID {
		t.Error("one message in two topics got one event id")
	}

	// A delivered event published back to its own stream is the same event.
	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{})
	msgs, err := sub.Subscribe(testContext(t), "situation-a")
	if err != nil {
		t.Fatal(err)
	}
	delivered := receive(t, msgs)
	delivered.Ack()
	if delivered.UUID != "order-42" {
		t.Errorf("delivered UUID %q, want the published one", delivered.UUID)
	}
	if err := pub.Publish("situation-a", delivered); err != nil {
		t.Fatal(err)
	}
	if n := len(readStream(t, store, "situation-a")); n != 1 {
		t.Errorf("re-published delivery: %d events, want 1", n)
	}
}

func TestPublishExpectedRevision(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	withExpected := func(v string) *message.Message {
		msg := message.NewMessage(watermill.NewUUID(), nil)
		msg.Metadata.Set(watermillstore.MetadataExpectedRevision, v)
		return msg
	}

	if err := pub.Publish("situation-x", withExpected("no_stream")); err != nil {
		t.Fatalf("first append, no_stream: %v", err)
	}
	err := pub.Publish("situation-x", withExpected("no_stream"))
	var conflict *eventstore.WrongExpectedRevisionError
	if !errors.Is(err, eventstore.ErrWrongExpectedRevision) || !errors.As(err, &conflict) {
		t.Fatalf("second no_stream append: %v, want a wrong expected revision", err)
	}
	if err := pub.Publish("situation-x", withExpected("0"), message.NewMessage(watermill.NewUUID(), nil)); err != nil {
		t.Fatalf("append at revision 0: %v", err)
	}
	if err := pub.Publish("situation-x", withExpected("0")); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("stale revision: %v, want a wrong expected revision", err)
	}
	if err := pub.Publish("situation-x", withExpected("latest")); err == nil {
		t.Fatal("bad expected_revision accepted")
	}
	events := readStream(t, store, "situation-x")
	if len(events) != 3 {
		t.Fatalf("%d events, want 3", len(events))
	}
	for _, ev := range events {
		if _, ok := ev.Metadata.Extra[watermillstore.MetadataExpectedRevision]; ok {
			t.Error("expected_revision stored with the event")
		}
	}
}

func TestPublishNonJSONPayload(t *testing.T) {
	store := openStore(t)
	pub := newPublisher(t, store)
	payload := []byte{0xff, 0x00, 'x', '"'}
	msg := message.NewMessage(uuid.NewString(), payload)
	if err := pub.Publish("blobs", msg); err != nil {
		t.Fatal(err)
	}
	ev := readStream(t, store, "blobs")[0]
	if ev.Metadata.Extra[watermillstore.MetadataPayloadEncoding] != "base64" {
		t.Errorf("stored %s without payload_encoding=base64", ev.Data)
	}

	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{})
	msgs, err := sub.Subscribe(testContext(t), "blobs")
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if string(got.Payload) != string(payload) {
		t.Errorf("delivered payload %q, want %q", got.Payload, payload)
	}
	if _, ok := got.Metadata[watermillstore.MetadataPayloadEncoding]; ok {
		t.Error("payload_encoding delivered")
	}
}

func TestPublisherClose(t *testing.T) {
	pub := newPublisher(t, openStore(t))
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := pub.Publish("t", message.NewMessage(watermill.NewUUID(), nil)); !errors.Is(err, watermillstore.ErrPublisherClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

// TestUndecodablePayloadIsDeliveredAsStored: an event claiming base64 data
// that is not is delivered, not a wedge in the subscription.
func TestUndecodablePayloadIsDeliveredAsStored(t *testing.T) {
	store := openStore(t)
	_, err := store.Append(context.Background(), "blobs", eventstore.Any, eventstore.Event{
		ID:       uuid.New(),
		Type:     "blob",
		Data:     []byte(`"not base64!"`),
		Metadata: eventstore.Metadata{Extra: map[string]string{watermillstore.MetadataPayloadEncoding: "base64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := newSubscriber(t, store, watermillstore.SubscriberConfig{}).Subscribe(testContext(t), "blobs")
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, msgs)
	got.Ack()
	if string(got.Payload) != `"not base64!"` || got.Metadata.Get(watermillstore.MetadataPayloadEncoding) != "base64" {
		t.Errorf("delivered %s with %v", got.Payload, got.Metadata)
	}
}
