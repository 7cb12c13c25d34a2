package watermillstore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"lifesituations/adapters/watermillstore"
)

// TestRouterDeadLettersAFailingMessage runs a saga-like handler on a
// Watermill router: a message that keeps failing is retried, then published
// through the Publisher to a dead-letter stream with the error in its
// metadata, and the messages after it keep flowing.
func TestRouterDeadLettersAFailingMessage(t *testing.T) {
	const (
		topic      = "situation-1"
		deadLetter = "dead-letters"
		maxRetries = 2
	)
	store := openStore(t)
	pub := newPublisher(t, store)
	sub := newSubscriber(t, store, watermillstore.SubscriberConfig{
		ConsumerGroup: "sagas",
		Checkpoints:   watermillstore.NewMemoryCheckpoints(),
	})

	logger := watermill.NopLogger{}
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		t.Fatal(err)
	}
	poison, err := middleware.PoisonQueue(pub, deadLetter)
	if err != nil {
		t.Fatal(err)
	}
	router.AddMiddleware(poison, middleware.Retry{MaxRetries: maxRetries, InitialInterval: time.Millisecond, Logger: logger}.Middleware)

	var attempts atomic.Int32
	handled := make(chan string, 10)
	router.AddConsumerHandler("decide", topic, sub, func(msg *message.Message) error {
		if msg.Metadata.Get("rule") == "missing" {
			attempts.Add(1)
			return errors.New("no rule in force for this service")
		}
		handled <- msg.UUID
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	routerDone := make(chan error, 1)
	go func() { routerDone <- router.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = router.Close()
		<-routerDone
	})
	select {
	case <-router.Running():
	case <-time.After(guard):
		t.Fatal("router not running")
	}

	ok1 := message.NewMessage(watermill.NewUUID(), []byte(`{"n":1}`))
	failing := message.NewMessage(watermill.NewUUID(), []byte(`{"n":2}`))
	failing.Metadata.Set("rule", "missing")
	failing.Metadata.Set(watermillstore.MetadataEventType, "service.requested")
	ok2 := message.NewMessage(watermill.NewUUID(), []byte(`{"n":3}`))
	for _, msg := range []*message.Message{ok1, failing, ok2} {
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatal(err)
		}
	}

	for _, want := range []string{ok1.UUID, ok2.UUID} {
		select {
		case got := <-handled:
			if got != want {
				t.Fatalf("handled %s, want %s", got, want)
			}
		case <-time.After(guard):
			t.Fatalf("message %s never handled", want)
		}
	}
	if n := attempts.Load(); n != maxRetries+1 {
		t.Errorf("failing message tried %d times, want %d", n, maxRetries+1)
	}

	// The failing message was dead-lettered before its Ack, so before ok2
	// was delivered: it is in the stream by now.
	events := readStream(t, store, deadLetter)
	if len(events) != 1 {
		t.Fatalf("dead-letter stream has %d events, want 1", len(events))
	}
	ev := events[0]
	extra := ev.Metadata.Extra
	switch {
	case !strings.Contains(extra[middleware.ReasonForPoisonedKey], "no rule in force"):
		t.Errorf("reason_poisoned %q", extra[middleware.ReasonForPoisonedKey])
	case extra[middleware.PoisonedTopicKey] != topic || extra[middleware.PoisonedHandlerKey] != "decide":
		t.Errorf("poisoned topic/handler %q/%q", extra[middleware.PoisonedTopicKey], extra[middleware.PoisonedHandlerKey])
	case extra[watermillstore.OriginPrefix+watermillstore.MetadataStream] != topic:
		t.Errorf("origin_stream %q, want %s", extra[watermillstore.OriginPrefix+watermillstore.MetadataStream], topic)
	case extra[watermillstore.MetadataMessageUUID] != failing.UUID || ev.Type != "service.requested" || string(ev.Data) != `{"n":2}`:
		t.Errorf("dead letter %s %s %s is not the failing message", extra[watermillstore.MetadataMessageUUID], ev.Type, ev.Data)
	}
	if ev.ID == watermillstore.EventID(topic, failing.UUID) {
		t.Error("dead letter has the original event's id")
	}
}
