// Package sagarouter runs the situation sagas on a Watermill router fed by
// the event store's global subscription: trigger handlers partitioned by
// person (order per person holds, persons proceed in parallel), the timers'
// index, retries, and a poison path that records a failing event in the
// `deadletter` stream and goes on with the others.
package sagarouter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// DeadLetterStream holds events a handler failed on, with the error.
const DeadLetterStream = "deadletter"

const (
	consumerGroup = "situations"
	triggerTopic  = "person-"
)

// Config of the saga router.
type Config struct {
	Store       eventstore.Store
	Service     *situations.Service
	Timers      *situations.Timers
	Checkpoints watermillstore.Checkpoints // durable progress of the trigger handlers
	Partitions  int                        // trigger handlers splitting the person space
	MaxRetries  int
	Logger      *slog.Logger
}

// Router is the running saga router.
type Router struct {
	router   *message.Router
	store    eventstore.Store
	progress []*progress
}

// progress tracks how far one handler has got, so that Settled can tell
// whether everything appended so far has been handled.
type progress struct {
	seen    atomic.Uint64 // last position the subscription looked at
	own     atomic.Uint64 // last position it delivered to this handler
	handled atomic.Uint64 // last position the handler finished
}

func (p *progress) settled(last eventstore.Position) bool {
	return p.seen.Load() >= last && p.handled.Load() >= p.own.Load()
}

// New builds the router; Run starts it.
func New(cfg Config) (*Router, error) {
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	if cfg.Checkpoints == nil {
		return nil, fmt.Errorf("saga router: checkpoints are required")
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	logger := watermill.NewSlogLogger(cfg.Logger)
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("saga router: %w", err)
	}
	pub, err := watermillstore.NewPublisher(cfg.Store, logger)
	if err != nil {
		return nil, fmt.Errorf("saga router: publisher: %w", err)
	}
	poison, err := middleware.PoisonQueue(deadLetters{pub}, DeadLetterStream)
	if err != nil {
		return nil, fmt.Errorf("saga router: poison queue: %w", err)
	}
	retry := middleware.Retry{MaxRetries: cfg.MaxRetries, InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2, Logger: logger}
	r.AddMiddleware(middleware.Recoverer)
	rt := &Router{router: r, store: cfg.Store}

	for i := range cfg.Partitions {
		p := &progress{}
		rt.progress = append(rt.progress, p)
		partition := &watermillstore.Partition{Index: i, Count: cfg.Partitions, Key: ownKey(p, i, cfg.Partitions)}
		// A restarted subscription resumes after its checkpoint and never
		// looks at what came before: that much is already seen and handled.
		done, err := cfg.Checkpoints.Load(context.Background(), watermillstore.CheckpointKey(consumerGroup, triggerTopic, partition))
		if err != nil {
			return nil, fmt.Errorf("saga router: checkpoint of partition %d: %w", i, err)
		}
		p.seen.Store(done)
		sub, err := watermillstore.NewSubscriber(cfg.Store, watermillstore.SubscriberConfig{
			Topics:        everything(p, isTrigger),
			ConsumerGroup: consumerGroup, Checkpoints: cfg.Checkpoints, Partition: partition,
		}, logger)
		if err != nil {
			return nil, fmt.Errorf("saga router: trigger subscriber %d: %w", i, err)
		}
		h := r.AddNoPublisherHandler(fmt.Sprintf("situation-triggers-%d", i), triggerTopic, sub, func(msg *message.Message) error {
			ev, err := eventOf(msg)
			if err != nil {
				return err
			}
			_, err = cfg.Service.HandleTrigger(msg.Context(), ev)
			return err
		})
		h.AddMiddleware(track(p), poison, retry.Middleware)
	}

	p := &progress{}
	rt.progress = append(rt.progress, p)
	// The timers' index lives in memory: it is rebuilt from the log at
	// every start, so its subscription keeps no checkpoint.
	sub, err := watermillstore.NewSubscriber(cfg.Store, watermillstore.SubscriberConfig{
		Topics: everything(p, isSituation), Partition: &watermillstore.Partition{Index: 0, Count: 1, Key: ownKey(p, 0, 1)},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("saga router: timers subscriber: %w", err)
	}
	h := r.AddNoPublisherHandler("situation-timers", "situation-", sub, func(msg *message.Message) error {
		ev, err := eventOf(msg)
		if err != nil {
			return err
		}
		return cfg.Timers.Apply(ev)
	})
	h.AddMiddleware(track(p), poison, retry.Middleware)
	return rt, nil
}

// Run runs the router until ctx is done.
func (r *Router) Run(ctx context.Context) error { return r.router.Run(ctx) }

// Running is closed once every handler is subscribed.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// Close stops the router.
func (r *Router) Close() error { return r.router.Close() }

// Settled reports whether every handler has handled everything stored so far.
func (r *Router) Settled(ctx context.Context) (bool, error) {
	last, err := r.store.LastPosition(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range r.progress {
		if !p.settled(last) {
			return false, nil
		}
	}
	return true, nil
}

// everything subscribes to the whole log (so that progress sees every
// position) and lets through what the handler wants.
func everything(p *progress, want func(eventstore.RecordedEvent) bool) watermillstore.TopicMapper {
	return func(string) watermillstore.Selection {
		return watermillstore.Selection{Match: func(ev eventstore.RecordedEvent) bool {
			storeMax(&p.seen, ev.Position)
			return want(ev)
		}}
	}
}

// ownKey partitions by person (the event's person, mother or first
// spouse) and notes the events this partition will deliver.
func ownKey(p *progress, index, count int) func(eventstore.RecordedEvent) string {
	return func(ev eventstore.RecordedEvent) string {
		key := partitionKey(ev)
		if watermillstore.PartitionOf(key, count) == index {
			storeMax(&p.own, ev.Position)
		}
		return key
	}
}

func track(p *progress) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil {
				if pos, perr := strconv.ParseUint(msg.Metadata.Get(watermillstore.MetadataPosition), 10, 64); perr == nil {
					storeMax(&p.handled, pos)
				}
			}
			return out, err
		}
	}
}

func isTrigger(ev eventstore.RecordedEvent) bool { return strings.HasPrefix(ev.Stream, "person-") }

func isSituation(ev eventstore.RecordedEvent) bool {
	return strings.HasPrefix(ev.Stream, situation.StreamPrefix)
}

// partitionKey is the person whose situations an event decides: the
// mother for a birth, so that her births are decided one after another.
func partitionKey(ev eventstore.RecordedEvent) string {
	var d struct {
		PersonID  string   `json:"person_id"`
		MotherID  string   `json:"mother_id"`
		SpouseIDs []string `json:"spouse_ids"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	switch {
	case d.MotherID != "":
		return d.MotherID
	case d.PersonID != "":
		return d.PersonID
	case len(d.SpouseIDs) > 0:
		return min(d.SpouseIDs[0], d.SpouseIDs[len(d.SpouseIDs)-1])
	default:
		return ev.Stream
	}
}

func storeMax(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// eventOf rebuilds the stored event a message carries.
func eventOf(msg *message.Message) (eventstore.RecordedEvent, error) {
	md := msg.Metadata
	id, err := uuid.Parse(md.Get(watermillstore.MetadataEventID))
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("message %s: event id: %w", msg.UUID, err)
	}
	pos, err := strconv.ParseUint(md.Get(watermillstore.MetadataPosition), 10, 64)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("message %s: position: %w", msg.UUID, err)
	}
	rev, _ := strconv.ParseUint(md.Get(watermillstore.MetadataRevision), 10, 64)
	ev := eventstore.RecordedEvent{Stream: md.Get(watermillstore.MetadataStream), Revision: rev, Position: pos}
	ev.ID, ev.Type, ev.Data = id, md.Get(watermillstore.MetadataEventType), json.RawMessage(msg.Payload)
	ev.Metadata.CorrelationID = md.Get(watermillstore.MetadataCorrelationID)
	ev.Metadata.CausationID = md.Get(watermillstore.MetadataCausationID)
	if t, err := time.Parse(time.RFC3339Nano, md.Get(watermillstore.MetadataRecordedAt)); err == nil {
		ev.Metadata.RecordedAt = t
	} else {
		return ev, fmt.Errorf("message %s: recorded_at: %w", msg.UUID, err)
	}
	if t, err := time.Parse(time.RFC3339Nano, md.Get(watermillstore.MetadataOccurredAt)); err == nil {
		ev.Metadata.OccurredAt = t
	}
	return ev, nil
}

// deadLetters gives a poisoned message an id of its own: the store keeps
// event ids unique, and the original event is already stored.
type deadLetters struct{ message.Publisher }

func (d deadLetters) Publish(topic string, msgs ...*message.Message) error {
	out := make([]*message.Message, len(msgs))
	for i, m := range msgs {
		c := m.Copy()
		c.UUID = uuid.NewSHA1(deadLetterNS, []byte(m.UUID)).String()
		c.Metadata.Set(watermillstore.MetadataEventType, "deadletter."+m.Metadata.Get(watermillstore.MetadataEventType))
		out[i] = c
	}
	if err := d.Publisher.Publish(topic, out...); err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	return nil
}

var deadLetterNS = uuid.MustParse("0d6e3c55-8f0e-5a54-a1c1-3f4a7c2d9e61")
