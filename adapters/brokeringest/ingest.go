package brokeringest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/ingest"
	"lifesituations/domain/clock"
)

// Defaults of Config.
const (
	DefaultURL               = "nats://127.0.0.1:4222"
	DefaultSubject           = "registries.*.events"
	DefaultDeadLetterSubject = "registries.*.dead-letter"
	DefaultStream            = "REGISTRY_EVENTS"
	DefaultDeadLetterStream  = "REGISTRY_DEAD_LETTERS"
	DefaultDurable           = "lifesituations-ingest"
	// DefaultInboxPrefix is where replies and deliveries to lifesituations
	// go, so that the broker can keep other users from reading them.
	DefaultInboxPrefix   = "_INBOX_lifesituations"
	DefaultConcurrency   = 1
	DefaultAckWait       = 30 * time.Second
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryDelay = 30 * time.Second
	// DefaultUnknownPersonDeliveries lets an event that names a person not
	// registered yet wait about 15 s (1+2+4+8) for the registering event.
	DefaultUnknownPersonDeliveries = 5
)

// Config of an Ingest. URL, Submitter and Clock are required; the rest has
// defaults.
type Config struct {
	// URL of the NATS server(s), comma-separated; user and password may
	// be in it (nats://user:password@host:4222).
	URL string
	// CredentialsFile, when set, is the orchestrator's NATS credentials
	// (a .creds file: JWT and NKey seed).
	CredentialsFile string
	// NatsOptions are added to the connections' options: credentials of
	// the orchestrator's NATS user above all, e.g.
	// nats.UserCredentials("/etc/lifesituations/nats.creds").
	NatsOptions []nats.Option
	// InboxPrefix replaces _INBOX for the connections' replies and the
	// consumer's deliveries (DefaultInboxPrefix).
	InboxPrefix string
	// Submitter is the ingest core shared with POST /v1/events.
	Submitter *ingest.Submitter
	// Clock stamps dead letters.
	Clock clock.Clock
	// Subject is the pattern registries publish on, with "*" where the
	// registry's name stands (DefaultSubject).
	Subject string
	// DeadLetterSubject is the pattern refused messages go to, the same
	// registry in place of "*" (DefaultDeadLetterSubject).
	DeadLetterSubject string
	// Stream and DeadLetterStream are the JetStream streams holding them.
	Stream, DeadLetterStream string
	// Durable names the durable consumer and its queue group; several
	// orchestrator processes with the same name share the work.
	Durable string
	// SkipProvision leaves the streams to the operator; otherwise a
	// missing stream is created (file storage, one replica): the events
	// stream with work-queue retention (a message leaves the broker once
	// it is in the event store or in the dead letters), the dead-letter
	// stream with limits retention (kept until an operator purges it).
	SkipProvision bool
	// Concurrency is how many messages are handled at once. With 1 (the
	// default) messages are handled in the order of the stream, as each
	// registry published them; more raise the throughput of one-event
	// messages but an event may then overtake an earlier one. A batch
	// message is always atomic and in order.
	Concurrency int
	// MaxAckPending bounds the messages delivered and not yet acknowledged
	// (default 4 per unit of Concurrency, at least 16): enough to keep the
	// handlers busy, and a bound on memory of about MaxAckPending MiB.
	MaxAckPending int
	// AckWait is how long a message may be in handling before the broker
	// delivers it again (DefaultAckWait).
	AckWait time.Duration
	// RetryDelay is the wait before a message that could not be stored
	// (store overloaded or closed, or a person not known yet) is delivered
	// again; it doubles with each delivery up to MaxRetryDelay.
	RetryDelay, MaxRetryDelay time.Duration
	// UnknownPersonDeliveries is how many deliveries a message refused only
	// because a person it names is not registered gets before it is
	// dead-lettered: the registering event may come on another registry's
	// subject a little later (DefaultUnknownPersonDeliveries; 1 dead-letters
	// it at once).
	UnknownPersonDeliveries int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer, when set, exports the metrics.
	Registerer prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.DeadLetterSubject == "" {
		c.DeadLetterSubject = DefaultDeadLetterSubject
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.DeadLetterStream == "" {
		c.DeadLetterStream = DefaultDeadLetterStream
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.InboxPrefix == "" {
		c.InboxPrefix = DefaultInboxPrefix
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = max(16, 4*c.Concurrency)
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.MaxRetryDelay < c.RetryDelay {
		c.MaxRetryDelay = max(DefaultMaxRetryDelay, c.RetryDelay)
	}
	if c.UnknownPersonDeliveries <= 0 {
		c.UnknownPersonDeliveries = DefaultUnknownPersonDeliveries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Ingest consumes registry events from NATS JetStream through a Watermill
// router and hands them to the ingest core.
type Ingest struct {
	cfg        Config
	subjects   Subjects
	deadLetter Subjects
	sub        *ingest.Submitter
	log        *slog.Logger
	metrics    *metrics

	subConn, pubConn *nats.Conn
	subscriber       *wmnats.Subscriber
	publisher        *wmnats.Publisher
	wlog             watermill.LoggerAdapter

	mu      sync.Mutex
	router  *message.Router // set by Run
	closed  bool
	running chan struct{}
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("brokeringest: closed")

// New connects to NATS, provisions the streams unless told not to, and
// prepares the router; Run starts consuming.
func New(cfg Config) (*Ingest, error) {
	cfg.setDefaults()
	if cfg.URL == "" || cfg.Submitter == nil || cfg.Clock == nil {
		return nil, errors.New("brokeringest: URL, Submitter and Clock are required")
	}
	subjects, err := ParseSubjects(cfg.Subject)
	if err != nil {
		return nil, fmt.Errorf("brokeringest: %w", err)
	}
	deadLetter, err := ParseSubjects(cfg.DeadLetterSubject)
	if err != nil {
		return nil, fmt.Errorf("brokeringest: dead letters: %w", err)
	}
	g := &Ingest{cfg: cfg, subjects: subjects, deadLetter: deadLetter, sub: cfg.Submitter, log: cfg.Logger,
		running: make(chan struct{})}
	if err := g.connect(); err != nil {
		g.closeConns()
		return nil, err
	}
	if g.metrics, err = newMetrics(cfg.Registerer); err != nil {
		g.closeConns()
		return nil, err
	}
	return g, nil
}

func (g *Ingest) connect() error {
	cfg := g.cfg
	var err error
	connect := func(name string) (*nats.Conn, error) {
		opts := []nats.Option{
			nats.Name(name),
			nats.CustomInboxPrefix(cfg.InboxPrefix),
			nats.MaxReconnects(-1),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					g.log.Warn("NATS disconnected", "connection", name, "error", err)
				}
			}),
			nats.ReconnectHandler(func(c *nats.Conn) { g.log.Info("NATS reconnected", "connection", name, "url", c.ConnectedUrl()) }),
		}
		if cfg.CredentialsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredentialsFile))
		}
		opts = append(opts, cfg.NatsOptions...)
		c, err := nats.Connect(cfg.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("brokeringest: connect to NATS at %s: %w", cfg.URL, err)
		}
		return c, nil
	}
	if g.pubConn, err = connect("lifesituations-ingest-dead-letters"); err != nil {
		return err
	}
	js, err := g.pubConn.JetStream()
	if err != nil {
		return fmt.Errorf("brokeringest: JetStream: %w", err)
	}
	if !cfg.SkipProvision {
		if err := g.provision(js); err != nil {
			return err
		}
	}
	if err := g.ensureConsumer(js); err != nil {
		return err
	}
	if g.subConn, err = connect("lifesituations-ingest"); err != nil {
		return err
	}
	wlog := watermill.NewSlogLoggerWithLevelMapping(g.log.With("component", "brokeringest"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	g.wlog = wlog

	// Bound to the consumer ensureConsumer made: a consumer the client
	// library creates is deleted when its subscription ends, under the
	// feet of the other processes sharing it.
	jsc := wmnats.JetStreamConfig{
		SubscribeOptions: []nats.SubOpt{nats.Bind(cfg.Stream, cfg.Durable), nats.ManualAck()},
		DurablePrefix:    cfg.Durable,
	}
	g.subscriber, err = wmnats.NewSubscriberWithNatsConn(g.subConn, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:       unmarshaler{},
		SubscribersCount:  cfg.Concurrency,
		AckWaitTimeout:    cfg.AckWait,
		CloseTimeout:      cfg.AckWait,
		SubscribeTimeout:  30 * time.Second,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		NakDelay:          backoff{first: cfg.RetryDelay, max: cfg.MaxRetryDelay},
		JetStream:         jsc,
		QueueGroupPrefix:  cfg.Durable,
	}, wlog)
	if err != nil {
		return fmt.Errorf("brokeringest: subscriber: %w", err)
	}
	// A dead letter carries its message's stream and sequence as its
	// Nats-Msg-Id, so that it is published once even when the refused
	// message's acknowledgement is lost and it comes again.
	g.publisher, err = wmnats.NewPublisherWithNatsConn(g.pubConn, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true},
	}, wlog)
	if err != nil {
		return fmt.Errorf("brokeringest: dead-letter publisher: %w", err)
	}
	return nil
}

// provision creates the streams that do not exist; it leaves existing
// ones as they are.
func (g *Ingest) provision(js nats.JetStreamContext) error {
	streams := []nats.StreamConfig{{
		Name:        g.cfg.Stream,
		Description: "Life events published by registries, until stored by lifesituations",
		Subjects:    []string{g.subjects.String()},
		Retention:   nats.WorkQueuePolicy,
		Storage:     nats.FileStorage,
	}, {
		Name:        g.cfg.DeadLetterStream,
		Description: "Registry messages refused by lifesituations, with the reason in their headers",
		Subjects:    []string{g.deadLetter.String()},
		Retention:   nats.LimitsPolicy,
		Storage:     nats.FileStorage,
	}}
	for _, sc := range streams {
		_, err := js.StreamInfo(sc.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, nats.ErrStreamNotFound) {
			return fmt.Errorf("brokeringest: stream %s: %w", sc.Name, err)
		}
		if _, err := js.AddStream(&sc); err != nil {
			return fmt.Errorf("brokeringest: create stream %s for %v: %w", sc.Name, sc.Subjects, err)
		}
		g.log.Info("NATS stream created", "stream", sc.Name, "subjects", sc.Subjects)
	}
	return nil
}

// ensureConsumer creates the durable push consumer that every process of
// the queue group shares, or brings its ack wait and ack-pending bound to
// the configuration. It delivers under the inbox prefix, in stream order,
// with explicit acknowledgements and no limit on redeliveries.
func (g *Ingest) ensureConsumer(js nats.JetStreamContext) error {
	cfg := g.cfg
	info, err := js.ConsumerInfo(cfg.Stream, cfg.Durable)
	switch {
	case errors.Is(err, nats.ErrConsumerNotFound):
		_, err = js.AddConsumer(cfg.Stream, &nats.ConsumerConfig{
			Durable:        cfg.Durable,
			Description:    "lifesituations: registry events to the event store",
			DeliverSubject: cfg.InboxPrefix + ".deliver." + cfg.Durable,
			DeliverGroup:   cfg.Durable,
			DeliverPolicy:  nats.DeliverAllPolicy,
			AckPolicy:      nats.AckExplicitPolicy,
			AckWait:        cfg.AckWait,
			MaxDeliver:     -1,
			MaxAckPending:  cfg.MaxAckPending,
		})
		if err != nil {
			return fmt.Errorf("brokeringest: create consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("brokeringest: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	c := info.Config
	if c.DeliverSubject == "" || c.DeliverGroup != cfg.Durable {
		return fmt.Errorf("brokeringest: consumer %s on %s is not a push consumer delivering to queue group %s", cfg.Durable, cfg.Stream, cfg.Durable)
	}
	if c.AckWait != cfg.AckWait || c.MaxAckPending != cfg.MaxAckPending {
		c.AckWait, c.MaxAckPending = cfg.AckWait, cfg.MaxAckPending
		if _, err := js.UpdateConsumer(cfg.Stream, &c); err != nil {
			return fmt.Errorf("brokeringest: update consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
		}
	}
	return nil
}

// Run consumes until ctx is done or Close is called; messages in handling
// then are left unacknowledged and come again. It may be called once.
func (g *Ingest) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosed
	}
	if g.router != nil {
		g.mu.Unlock()
		return errors.New("brokeringest: already running")
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: g.cfg.AckWait}, g.wlog)
	if err != nil {
		g.mu.Unlock()
		return fmt.Errorf("brokeringest: router: %w", err)
	}
	router.AddConsumerHandler("registry-events", g.subjects.String(), g.subscriber, g.handle)
	g.router = router
	g.mu.Unlock()

	go func() {
		select {
		case <-router.Running():
			g.log.Info("consuming registry events from NATS", "subject", g.subjects.String(), "stream", g.cfg.Stream,
				"durable", g.cfg.Durable, "dead_letters", g.deadLetter.String(), "concurrency", g.cfg.Concurrency)
			close(g.running)
		case <-ctx.Done():
		}
	}()
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("brokeringest: %w", err)
	}
	return nil
}

// Running is closed once the subscription is in place.
func (g *Ingest) Running() <-chan struct{} { return g.running }

// Close stops consuming and closes the connections. Call it before the
// event store closes, or the messages in handling are delivered again.
func (g *Ingest) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var err error
	if g.router != nil {
		err = g.router.Close()
	}
	if cerr := g.subscriber.Close(); cerr != nil && err == nil {
		err = cerr
	}
	g.closeConns()
	return err
}

func (g *Ingest) closeConns() {
	for _, c := range []*nats.Conn{g.subConn, g.pubConn} {
		if c != nil {
			c.Close()
		}
	}
}

// backoff doubles the redelivery delay from first up to max.
type backoff struct{ first, max time.Duration }

func (b backoff) WaitTime(delivered uint64) time.Duration {
	d := b.first
	for i := uint64(1); i < delivered && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}
