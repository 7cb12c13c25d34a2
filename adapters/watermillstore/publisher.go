package watermillstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/domain/eventstore"
)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("publisher closed")

// Publisher appends messages to the stream named by the topic.
type Publisher struct {
	store  eventstore.Store
	logger watermill.LoggerAdapter

	// mu is held for reading by every Publish in flight, so that Close
	// waits for them.
	mu     sync.RWMutex
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher over store. logger may be nil.
func NewPublisher(store eventstore.Store, logger watermill.LoggerAdapter) (*Publisher, error) {
	if store == nil {
		return nil, errors.New("watermillstore: publisher needs a store")
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Publisher{store: store, logger: logger}, nil
}

// Publish appends msgs to the stream named topic in one append, so they are
// stored together or not at all, in order, and returns once they are
// durable. The append carries the first message's context values, and its
// expectation comes from that message's expected_revision metadata (Any when
// absent); a conflict is an *eventstore.WrongExpectedRevisionError.
//
// Each message becomes an event with id EventID(topic, UUID), type from
// event_type metadata (DefaultEventType when absent), the payload as data
// (base64 in a JSON string when it is not JSON), the well-known metadata
// keys in their eventstore.Metadata fields and every other key in
// Metadata.Extra; an occurred_at that is not RFC 3339 or a schema_version
// that is not an integer fails the call. Publishing a message again is an
// idempotent duplicate.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrPublisherClosed
	}
	if len(msgs) == 0 {
		return nil
	}

	expected, err := expectedRevision(msgs[0])
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	events := make([]eventstore.Event, len(msgs))
	for i, msg := range msgs {
		if events[i], err = toEvent(topic, msg); err != nil {
			return fmt.Errorf("publish message %q to %s: %w", msg.UUID, topic, err)
		}
	}

	// A delivered message's context ends with its delivery, and forwarding
	// one after its Ack must still work: the append keeps the context's
	// values but not its cancellation. It is bounded by the store anyway,
	// which fails fast with ErrOverloaded rather than queue without end.
	ctx := context.WithoutCancel(msgs[0].Context())
	res, err := p.store.Append(ctx, topic, expected, events...)
	if err != nil {
		return fmt.Errorf("publish %d messages to %s: %w", len(msgs), topic, err)
	}
	p.logger.Trace("Published messages to the event store", watermill.LogFields{
		"topic":      topic,
		"messages":   len(msgs),
		"duplicates": res.Duplicates,
		"revision":   res.NextRevision,
		"position":   res.Position,
	})
	return nil
}

// Close waits for the appends in flight and makes later Publish calls fail.
// It does not close the store. Closing twice is harmless.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}
