// Package notify sends every notification the cabinet shows on to an
// outbound Watermill topic (an email, SMS or push gateway's input), at
// least once, each message carrying the notification's id (its UUID, and
// "id" in the body) so that the gateway can drop a repeat.
//
// The Relay is a Watermill router fed by the event store's subscription
// to the situation streams, with a checkpoint: for each situation event it
// derives the notifications exactly as the cabinet does
// (cabinet.NotificationsOf) and publishes them to the topic on any
// message.Publisher. The checkpoint moves only once they are published, so
// a crash or a stop sends some again, never fewer. A failed publication is
// retried by Watermill's retry middleware with exponential backoff,
// waiting instead as long as a Retry-After says; a message the gateway
// refuses for good is recorded in the deadletter stream and the relay goes
// on. Webhook is the default publisher.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

const (
	// DefaultTopic is the outbound topic when none is configured.
	DefaultTopic = "notifications"
	// ConsumerGroup keeps the relay's checkpoint.
	ConsumerGroup = "notifications-out"
	// DeadLetterType is the type of a notification the gateway refused, in
	// sagarouter.DeadLetterStream.
	DeadLetterType = sagarouter.DeadLetterTypePrefix + "notification"
	handlerName    = "notifications-out"
)

// Metadata keys of an outbound message, besides its UUID (the
// notification's id).
const (
	MetadataNotificationID = "notification_id"
	// MetadataCause is the id of the situation event that caused it.
	MetadataCause = "causation_id"
)

// Retry is how a failed publication is retried: exponential backoff from
// Initial, doubling up to Max, MaxRetries times; then the event is sent
// again from the subscription and the round starts over, so nothing is
// ever given up but what the gateway refuses.
type Retry struct {
	Initial    time.Duration // 500 ms when 0
	Max        time.Duration // 5 min when 0
	MaxRetries int           // 100 when 0
}

// Config of the relay.
type Config struct {
	Store eventstore.Store
	// Checkpoints keep the relay's progress under ConsumerGroup.
	Checkpoints watermillstore.Checkpoints
	// Publisher receives the notifications on Topic.
	Publisher message.Publisher
	Topic     string
	Retry     Retry
	Logger    *slog.Logger
	// Metrics, when set, receives lifesituations_notify_* and Watermill's
	// handler metrics (lifesituations_notify_router_*).
	Metrics prometheus.Registerer
}

// Relay is the running relay.
type Relay struct {
	cfg         Config
	router      *message.Router
	deadLetters message.Publisher
	meters      meters

	// done counts the notifications of the event being retried that are
	// published already, so that a retry does not send them again (a
	// restart may). Used by the handler only, which runs one event at a
	// time.
	done struct {
		event string
		n     int
	}
}

type meters struct {
	published, failures, rejected prometheus.Counter
}

// Message is the body of an outbound message: the notification as the
// cabinet shows it, with the persons it is addressed to.
type Message = cabinet.Addressed

// New builds the relay; Run starts it. A relay that has never run starts
// at the end of the log: the history before it is not sent.
func New(cfg Config) (*Relay, error) {
	if cfg.Store == nil || cfg.Checkpoints == nil || cfg.Publisher == nil {
		return nil, errors.New("notify: store, checkpoints and publisher are required")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Retry.Initial <= 0 {
		cfg.Retry.Initial = 500 * time.Millisecond
	}
	if cfg.Retry.Max <= 0 {
		cfg.Retry.Max = 5 * time.Minute
	}
	if cfg.Retry.MaxRetries <= 0 {
		cfg.Retry.MaxRetries = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	logger := watermill.NewSlogLogger(cfg.Logger)
	if err := startAtEnd(cfg); err != nil {
		return nil, err
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	dl, err := watermillstore.NewPublisher(cfg.Store, logger)
	if err != nil {
		return nil, fmt.Errorf("notify: dead letters: %w", err)
	}
	rl := &Relay{cfg: cfg, router: r, deadLetters: dl}
	if rl.meters, err = newMeters(cfg.Metrics, r); err != nil {
		return nil, err
	}
	sub, err := watermillstore.NewSubscriber(cfg.Store, watermillstore.SubscriberConfig{
		Topics:        watermillstore.StreamPrefix,
		ConsumerGroup: ConsumerGroup, Checkpoints: cfg.Checkpoints,
		NackBackoff: cfg.Retry.Initial,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("notify: subscriber: %w", err)
	}
	h := r.AddNoPublisherHandler(handlerName, situation.StreamPrefix, sub, rl.handle)
	retry := middleware.Retry{
		MaxRetries: cfg.Retry.MaxRetries, InitialInterval: cfg.Retry.Initial, MaxInterval: cfg.Retry.Max,
		Multiplier: 2, RandomizationFactor: 0.1, Logger: logger,
	}
	h.AddMiddleware(retry.Middleware, middleware.Recoverer)
	return rl, nil
}

// checkpointKey is where the relay's progress is kept.
func checkpointKey() string {
	return watermillstore.CheckpointKey(ConsumerGroup, situation.StreamPrefix, nil)
}

// startAtEnd moves a relay that has never run to the end of the log, and
// marks it as started so that later runs resume where they stopped.
func startAtEnd(cfg Config) error {
	ctx := context.Background()
	started := checkpointKey() + " started"
	mark, err := cfg.Checkpoints.Load(ctx, started)
	if err != nil || mark > 0 {
		return err
	}
	last, err := cfg.Store.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if pos, err := cfg.Checkpoints.Load(ctx, checkpointKey()); err != nil {
		return err
	} else if pos < last {
		if err := cfg.Checkpoints.Save(ctx, checkpointKey(), last); err != nil {
			return err
		}
	}
	return cfg.Checkpoints.Save(ctx, started, last+1)
}

func newMeters(reg prometheus.Registerer, r *message.Router) (meters, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "lifesituations", Subsystem: "notify", Name: name, Help: help})
	}
	m := meters{
		published: counter("published_total", "Notifications published to the outbound topic (a notification sent again after a failure or a restart counts again)."),
		failures:  counter("failures_total", "Publications of a notification that failed and will be retried."),
		rejected:  counter("rejected_total", "Notifications the gateway refused for good, recorded in the deadletter stream."),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.failures, m.rejected} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("notify metrics: %w", err)
		}
	}
	metrics.NewPrometheusMetricsBuilder(reg, "lifesituations", "notify_router").AddPrometheusRouterMetrics(r)
	return m, nil
}

// Run runs the relay until ctx is done.
func (r *Relay) Run(ctx context.Context) error { return r.router.Run(ctx) }

// Running is closed once the relay is subscribed.
func (r *Relay) Running() chan struct{} { return r.router.Running() }

// Close stops the relay.
func (r *Relay) Close() error { return r.router.Close() }

// handle publishes the notifications one situation event causes.
func (r *Relay) handle(msg *message.Message) error {
	md := msg.Metadata
	stream, event := md.Get(watermillstore.MetadataStream), md.Get(watermillstore.MetadataEventID)
	rev, err := strconv.ParseUint(md.Get(watermillstore.MetadataRevision), 10, 64)
	if err != nil {
		return fmt.Errorf("message %s: revision: %w", msg.UUID, err)
	}
	events, err := r.cfg.Store.ReadStream(msg.Context(), stream, 0, eventstore.Forwards, int(rev)+1)
	if err != nil {
		return fmt.Errorf("read %s up to %d: %w", stream, rev, err)
	}
	if n := len(events); n == 0 || events[n-1].ID.String() != event {
		return fmt.Errorf("read %s up to %d: event %s is not there", stream, rev, event)
	}
	notes, err := cabinet.NotificationsOf(events)
	if err != nil {
		return err
	}
	if r.done.event != event {
		r.done.event, r.done.n = event, 0
	}
	for i, n := range notes {
		if i < r.done.n || len(n.To) == 0 {
			continue
		}
		out, err := outbound(msg, n)
		if err != nil {
			return err
		}
		if err := r.cfg.Publisher.Publish(r.cfg.Topic, out); err != nil {
			if !errors.Is(err, ErrRejected) {
				r.meters.failures.Inc()
				return fmt.Errorf("publish notification %s to %s: %w", n.ID, r.cfg.Topic, err)
			}
			if err := r.deadLetter(msg, out, err); err != nil {
				return err
			}
			r.meters.rejected.Inc()
			r.cfg.Logger.Error("the gateway refused a notification; recorded in the deadletter stream",
				"notification", n.ID, "err", err)
		} else {
			r.meters.published.Inc()
		}
		r.done.n = i + 1
	}
	return nil
}

// outbound is the message of one notification: its UUID is the
// notification's id, its body the notification with its addressees.
func outbound(cause *message.Message, n cabinet.Addressed) (*message.Message, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	m := message.NewMessage(n.ID.String(), body)
	m.Metadata.Set(MetadataNotificationID, n.ID.String())
	m.Metadata.Set(MetadataCause, cause.Metadata.Get(watermillstore.MetadataEventID))
	m.SetContext(cause.Context())
	return m, nil
}

// deadLetter records a refused notification in the deadletter stream, with
// the gateway's answer; recording it again after a redelivery adds nothing.
func (r *Relay) deadLetter(cause, out *message.Message, reason error) error {
	dl := message.NewMessage(out.UUID, out.Payload)
	dl.Metadata.Set(watermillstore.MetadataEventType, DeadLetterType)
	dl.Metadata.Set(watermillstore.MetadataCausationID, cause.Metadata.Get(watermillstore.MetadataEventID))
	dl.Metadata.Set(watermillstore.MetadataCorrelationID, cause.Metadata.Get(watermillstore.MetadataCorrelationID))
	dl.Metadata.Set(middleware.ReasonForPoisonedKey, reason.Error())
	dl.Metadata.Set(middleware.PoisonedHandlerKey, handlerName)
	dl.Metadata.Set("topic", r.cfg.Topic)
	dl.SetContext(cause.Context())
	if err := r.deadLetters.Publish(sagarouter.DeadLetterStream, dl); err != nil {
		return fmt.Errorf("dead letter of notification %s: %w", out.UUID, err)
	}
	return nil
}
