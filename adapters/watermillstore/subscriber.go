package watermillstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/domain/eventstore"
)

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("subscriber closed")

const (
	// DefaultNackBackoff is the wait before a nacked message is sent again.
	DefaultNackBackoff = 100 * time.Millisecond
	// DefaultRetryBackoff is the wait before resubscribing after the store
	// failed a subscription.
	DefaultRetryBackoff = time.Second
	// DefaultCheckpointEvery and DefaultCheckpointInterval bound what a
	// subscription leaves unsaved: a synced checkpoint write per Ack would
	// cost more than most handlers (and the writes of all subscriptions
	// sharing a file are serialised).
	DefaultCheckpointEvery    = 256
	DefaultCheckpointInterval = 200 * time.Millisecond
	// skippedSaveEvery bounds the events passed over (other topics sharing
	// the store filter, other partitions) between two checkpoint saves, so
	// that a restart does not rescan them all. Skipped events are never
	// delivered again, so this bound costs only reading.
	skippedSaveEvery = 1024
)

// SubscriberConfig configures a Subscriber. The zero value delivers each
// topic's stream from the start of the log at every Subscribe.
type SubscriberConfig struct {
	// Topics maps a topic onto its events; nil means ExactStream.
	Topics TopicMapper

	// ConsumerGroup names the consumer whose progress Checkpoints keeps,
	// under CheckpointKey(ConsumerGroup, topic, Partition). Both or neither
	// must be set; without them every subscription starts at the beginning
	// of the log.
	ConsumerGroup string
	Checkpoints   Checkpoints

	// CheckpointEvery is how many acknowledged messages may go unsaved
	// (DefaultCheckpointEvery when 0; 1 saves after every Ack), and
	// CheckpointInterval how long an acknowledged or passed-over position
	// may go unsaved (DefaultCheckpointInterval when 0). The checkpoint is
	// saved when either is reached, and always when the subscription stops
	// (Close, ctx done, store closed). The saved position is never past a
	// message that was not acknowledged: a crash delivers again at most the
	// last CheckpointEvery-1 acknowledged messages (or those of the last
	// interval), and skips none. Consumers must therefore be idempotent, as
	// at-least-once delivery requires anyway.
	CheckpointEvery    int
	CheckpointInterval time.Duration

	// Partition, when set, delivers only this subscriber's share of each
	// topic.
	Partition *Partition

	// NackBackoff is the wait before a nacked message is sent again;
	// DefaultNackBackoff when 0.
	NackBackoff time.Duration
	// RetryBackoff is the wait before resubscribing after a store error
	// other than eventstore.ErrClosed; DefaultRetryBackoff when 0.
	RetryBackoff time.Duration
}

func (c *SubscriberConfig) setDefaults() {
	if c.Topics == nil {
		c.Topics = ExactStream
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.NackBackoff == 0 {
		c.NackBackoff = DefaultNackBackoff
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
}

func (c *SubscriberConfig) validate() error {
	switch {
	case (c.ConsumerGroup == "") != (c.Checkpoints == nil):
		return errors.New("consumer group and checkpoints go together")
	case c.CheckpointEvery < 0:
		return fmt.Errorf("checkpoint every %d messages, want > 0", c.CheckpointEvery)
	case c.CheckpointInterval < 0:
		return fmt.Errorf("checkpoint interval %v, want > 0", c.CheckpointInterval)
	case c.NackBackoff < 0 || c.RetryBackoff < 0:
		return errors.New("negative backoff")
	}
	if c.Partition != nil {
		return c.Partition.validate()
	}
	return nil
}

// Subscriber delivers a topic's events from the store's global
// subscription: catch-up from the checkpoint, then live, in log order, one
// message at a time and at least once. The next message is sent only once
// the previous one is acknowledged; a nacked message is sent again after
// NackBackoff.
type Subscriber struct {
	store  eventstore.Store
	config SubscriberConfig
	logger watermill.LoggerAdapter

	mu      sync.Mutex
	closed  bool
	cancels map[*subscription]context.CancelFunc
	running sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a subscriber over store. logger may be nil.
func NewSubscriber(store eventstore.Store, config SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	if store == nil {
		return nil, errors.New("watermillstore: subscriber needs a store")
	}
	config.setDefaults()
	if err := config.validate(); err != nil {
		return nil, fmt.Errorf("watermillstore: %w", err)
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Subscriber{
		store:   store,
		config:  config,
		logger:  logger,
		cancels: map[*subscription]context.CancelFunc{},
	}, nil
}

// Subscribe starts delivering topic's events after the consumer group's
// checkpoint, or from the start of the log without a group. The channel
// closes when ctx is done, when the subscriber closes or when the store
// does. Run one subscription per checkpoint key at a time: two would each
// deliver everything and overwrite each other's checkpoint.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	var after eventstore.Position
	key := ""
	if s.config.Checkpoints != nil {
		key = CheckpointKey(s.config.ConsumerGroup, topic, s.config.Partition)
		var err error
		if after, err = s.config.Checkpoints.Load(ctx, key); err != nil {
			return nil, fmt.Errorf("subscribe to %s: %w", topic, err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSubscriberClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{
		Subscriber: s,
		ctx:        ctx,
		selection:  s.config.Topics(topic),
		key:        key,
		pos:        after,
		out:        make(chan *message.Message),
		logger: s.logger.With(watermill.LogFields{
			"topic":          topic,
			"consumer_group": s.config.ConsumerGroup,
		}),
	}
	s.cancels[sub] = cancel
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		sub.run()
		s.mu.Lock()
		delete(s.cancels, sub)
		s.mu.Unlock()
		cancel()
	}()
	return sub.out, nil
}

// Close stops every subscription, saves their checkpoints and returns once
// their channels are closed. It does not close the store. Closing twice is
// harmless.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, cancel := range s.cancels {
		cancel()
	}
	s.mu.Unlock()
	s.running.Wait()
	return nil
}
