package watermillstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/adapters/eventstore/embedded"
)

// guard bounds a wait that only a bug can make long: it fails the test
// instead of hanging it, and is no assertion about speed.
const guard = 30 * time.Second

func openStore(t *testing.T) *embedded.Store {
	t.Helper()
	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	msg, err := next(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// next is receive for goroutines other than the test's.
func next(msgs <-chan *message.Message) (*message.Message, error) {
	select {
	case msg, ok := <-msgs:
		if !ok {
			return nil, errors.New("messages channel closed")
		}
		return msg, nil
	case <-time.After(guard):
		return nil, errors.New("no message")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// expectClosed waits for msgs to close.
func expectClosed(t *testing.T, msgs <-chan *message.Message) {
	t.Helper()
	select {
	case msg, open := <-msgs:
		if open {
			t.Fatalf("message %s instead of the channel closing", msg.UUID)
		}
	case <-time.After(guard):
		t.Fatal("channel not closed")
	}
}

// expectDone waits for ctx to end.
func expectDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(guard):
		t.Fatal("context not done")
	}
}
