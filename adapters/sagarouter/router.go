// Package sagarouter runs the situation sagas on a Watermill router fed by
// the event store's global subscription: trigger handlers partitioned by
// person (order per person holds, persons proceed in parallel), the timers'
// index, retries, and a poison path that records a failing event in the
// `deadletter` stream and goes on with the others.
package sagarouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

const (
	// DeadLetterStream holds the events a handler kept failing on. Each
	// dead letter is the failing event's data under the type
	// DeadLetterTypePrefix + its type, with its error in the metadata key
	// middleware.ReasonForPoisonedKey, its handler in
	// middleware.PoisonedHandlerKey, and where it is stored under the
	// watermillstore.OriginPrefix keys (origin_event_id, origin_event_type,
	// origin_stream, origin_revision, origin_position, origin_recorded_at).
	DeadLetterStream = "deadletter"
	// DeadLetterTypePrefix keeps a dead letter from passing for the event it
	// records with consumers that select by type (the calendar follows
	// birth.registered in every stream).
	DeadLetterTypePrefix = "deadletter."
)

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
	Partitions  int                        // trigger handlers splitting the person space; 1 when < 1
	// Workers is how many saga worker groups share the partitions in this
	// process (1 when < 1; at most Partitions count). Partition i starts
	// with worker i mod Workers; StopWorker hands a worker's partitions to
	// the others.
	Workers    int
	MaxRetries int // retries before an event is dead-lettered; 3 when 0, none when < 0
	Logger     *slog.Logger
	// Triggers, when set, tells the event types that may open a situation
	// (for example those some situation of the catalogue triggers on):
	// person- stream events of other types are passed over without a
	// handler call, their positions counted as seen and saved in the
	// checkpoint with the others. nil hands every person- stream event to
	// the sagas, which ignore what opens nothing.
	Triggers func(eventType string) bool
	// Metrics, when set, receives the router's metrics: Watermill's
	// handler metrics and lifesituations_saga_* (situations opened, dead
	// letters, how far the handlers lag behind the log, and in shared mode
	// the triggers this process handled).
	Metrics prometheus.Registerer
	// Shared, when set, makes this process one of several worker
	// processes that the store's server splits the person space between
	// (see shared.go): Partitions consumers join the server's group
	// instead of partitioning the log here, and Workers is 1 (the server
	// rebalances; StopWorker is refused).
	Shared SharedSubscribe
}

// meters are the router's own metrics; nil counters when not registered.
type meters struct {
	opened      *prometheus.CounterVec
	deadLetters prometheus.Counter
}

func newMeters(reg prometheus.Registerer, r *message.Router, rt *Router) (meters, error) {
	m := meters{
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lifesituations", Subsystem: "saga", Name: "situations_opened_total",
			Help: "Life situations opened, by kind.",
		}, []string{"kind"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lifesituations", Subsystem: "saga", Name: "dead_letters_total",
			Help: "Events a saga handler gave up on after its retries (see the deadletter stream).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	lag := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "lifesituations", Subsystem: "saga", Name: "lag_events",
		Help: "Events stored but not yet handled by the slowest saga handler.",
	}, func() float64 { return float64(rt.lag()) })
	for _, c := range []prometheus.Collector{m.opened, m.deadLetters, lag} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("saga router metrics: %w", err)
		}
	}
	wm := metrics.NewPrometheusMetricsBuilder(reg, "lifesituations", "saga_router")
	wm.AddPrometheusRouterMetrics(r)
	return m, nil
}

// Router is the running saga router.
type Router struct {
	started  atomic.Bool
	router   *message.Router
	store    eventstore.Store
	progress []*progress

	// mu serialises reassignments and guards what follows.
	mu         sync.Mutex
	runCtx     context.Context // the context Run was given: reassigned handlers run under it
	closed     bool
	parts      []*partition
	workers    []bool // live workers
	overlaps   atomic.Uint64
	reassigned atomic.Uint64

	shared *shared // nil unless Config.Shared is set
	// syncer is the store when the trigger handlers' appends defer their
	// syncs (see syncedCheckpoints); nil when they do not.
	syncer eventstore.Syncer
}

// progress tracks how far one handler has got, so that Settled can tell
// whether everything appended so far has been handled.
type progress struct {
	seen    atomic.Uint64 // last position the subscription looked at
	own     atomic.Uint64 // last position it delivered to this handler
	handled atomic.Uint64 // last position the handler finished
}

// settled reads seen first: own is stored before seen (see selection), so
// an event counted as seen is already counted as owned.
func (p *progress) settled(last eventstore.Position) bool {
	return p.seen.Load() >= last && p.handled.Load() >= p.own.Load()
}

// New builds the router; Run starts it.
func New(cfg Config) (*Router, error) {
	if cfg.Checkpoints == nil {
		return nil, errors.New("saga router: checkpoints are required")
	}
	cfg.Partitions = max(cfg.Partitions, 1)
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 3
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
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
	cfg.Workers = min(max(cfg.Workers, 1), cfg.Partitions)
	if cfg.Shared != nil {
		cfg.Workers = 1
	}
	rt := &Router{router: r, store: cfg.Store, workers: make([]bool, cfg.Workers)}
	if y, ok := cfg.Store.(eventstore.Syncer); ok && cfg.Shared == nil {
		rt.syncer = y
		cfg.Checkpoints = syncedCheckpoints{Checkpoints: cfg.Checkpoints, store: y}
	}
	for w := range rt.workers {
		rt.workers[w] = true
	}
	m, err := newMeters(cfg.Metrics, r, rt)
	if err != nil {
		return nil, err
	}
	retry := middleware.Retry{MaxRetries: cfg.MaxRetries, InitialInterval: 50 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2, Logger: logger}
	// The recoverer goes innermost: a panic becomes an error that is retried
	// and dead-lettered like any other, instead of a nack that would deliver
	// the event again forever and hold up its whole partition.
	chain := func(p *progress) []message.HandlerMiddleware {
		return []message.HandlerMiddleware{track(p), deadLetter(pub, m.deadLetters), retry.Middleware, middleware.Recoverer}
	}

	handleTrigger := func(msg *message.Message) ([]*message.Message, error) {
		ev, err := eventOf(msg)
		if err != nil {
			return nil, err
		}
		ctx := msg.Context()
		if rt.syncer != nil {
			ctx = eventstore.WithDeferredSync(ctx)
		}
		openings, err := cfg.Service.HandleTrigger(ctx, ev)
		for _, o := range openings {
			if o.Opened {
				m.opened.WithLabelValues(o.Kind).Inc()
			}
		}
		return nil, err
	}
	trigger := isTrigger
	if cfg.Triggers != nil {
		trigger = func(ev eventstore.RecordedEvent) bool { return isTrigger(ev) && cfg.Triggers(ev.Type) }
	}
	if cfg.Shared != nil {
		sm, err := newSharedMeters(cfg.Metrics)
		if err != nil {
			return nil, err
		}
		rt.shared = &shared{subscribe: cfg.Shared, trigger: trigger, handled: sm, logger: cfg.Logger}
		if cfg.Logger == nil {
			rt.shared.logger = slog.Default()
		}
		for i := range cfg.Partitions {
			// progress is only for the middleware here: Settled asks the
			// consumers whether they are busy.
			c := &sharedConsumer{index: i}
			c.handle = chained(handleTrigger, chain(&progress{}))
			rt.shared.consumers = append(rt.shared.consumers, c)
		}
	}
	partitions := cfg.Partitions
	if cfg.Shared != nil {
		partitions = 0 // the server partitions the triggers (shared.go)
	}
	keys := &keyMemo{}
	for i := range partitions {
		p := &progress{}
		rt.progress = append(rt.progress, p)
		share := &watermillstore.Partition{Index: i, Count: cfg.Partitions, Key: keys.of}
		// A restarted subscription resumes after its checkpoint and never
		// looks at what came before: that much is already seen and handled.
		done, err := cfg.Checkpoints.Load(context.Background(), watermillstore.CheckpointKey(consumerGroup, triggerTopic, share))
		if err != nil {
			return nil, fmt.Errorf("saga router: checkpoint of partition %d: %w", i, err)
		}
		p.seen.Store(done)
		owns := func(ev eventstore.RecordedEvent) bool {
			return watermillstore.PartitionOf(keys.of(ev), cfg.Partitions) == i
		}
		sub, err := watermillstore.NewSubscriber(cfg.Store, watermillstore.SubscriberConfig{
			Topics:        p.selection(trigger, owns),
			ConsumerGroup: consumerGroup, Checkpoints: cfg.Checkpoints, Partition: share,
		}, logger)
		if err != nil {
			return nil, fmt.Errorf("saga router: trigger subscriber %d: %w", i, err)
		}
		part := &partition{index: i, owner: i % cfg.Workers, progress: p, sub: sub}
		part.handle = chained(handleTrigger, chain(p))
		rt.parts = append(rt.parts, part)
		rt.startPartition(part)
	}

	p := &progress{}
	rt.progress = append(rt.progress, p)
	// The timers' index lives in memory: it is rebuilt from the log at
	// every start, so its subscription keeps no checkpoint.
	sub, err := watermillstore.NewSubscriber(cfg.Store, watermillstore.SubscriberConfig{
		Topics: p.selection(isSituation, func(eventstore.RecordedEvent) bool { return true }),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("saga router: timers subscriber: %w", err)
	}
	h := r.AddNoPublisherHandler("situation-timers", situation.StreamPrefix, sub, func(msg *message.Message) error {
		ev, err := eventOf(msg)
		if err != nil {
			return err
		}
		return cfg.Timers.Apply(ev)
	})
	h.AddMiddleware(chain(p)...)
	return rt, nil
}

// Run runs the router until ctx is done.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	r.runCtx = ctx
	r.mu.Unlock()
	r.started.Store(true)
	if r.shared != nil {
		r.shared.run(ctx)
		defer r.shared.stop()
	}
	return r.router.Run(ctx)
}

// Running is closed once every handler is subscribed.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// Close stops the router. A router that never ran has nothing to stop
// (Watermill's Close would wait its whole timeout for handlers that never
// started).
func (r *Router) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if !r.started.Load() {
		return nil
	}
	if r.shared != nil {
		r.shared.stop()
	}
	return r.router.Close()
}

// lag is how many positions the slowest handler is behind the log.
func (r *Router) lag() uint64 {
	last, err := r.store.LastPosition(context.Background())
	if err != nil {
		return 0
	}
	var behind uint64
	for _, p := range r.progress {
		seen, own, handled := p.seen.Load(), p.own.Load(), p.handled.Load()
		if seen < last {
			behind = max(behind, last-seen)
		}
		if handled < own {
			behind = max(behind, own-handled)
		}
	}
	return behind
}

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
	if r.shared != nil && !r.shared.idle() {
		return false, nil
	}
	// Every decision of the triggers handled is then in the log's
	// readers' sight.
	if r.syncer != nil {
		if err := r.syncer.Sync(ctx); err != nil {
			return false, err
		}
	}
	return true, nil
}

// syncedCheckpoints saves a trigger partition's checkpoint only once the
// decisions of the triggers before it are durable: the trigger handlers'
// appends defer their syncs (eventstore.WithDeferredSync), so that a
// partition decides its next trigger while the store syncs the last one's
// decision with the others'. A crash before the sync loses the decisions
// and redelivers their triggers, which decide them again (same ids).
type syncedCheckpoints struct {
	watermillstore.Checkpoints
	store eventstore.Syncer
}

func (c syncedCheckpoints) Save(ctx context.Context, key string, pos eventstore.Position) error {
	if err := c.store.Sync(ctx); err != nil {
		return fmt.Errorf("sync the decisions before checkpoint %d: %w", pos, err)
	}
	return c.Checkpoints.Save(ctx, key, pos)
}

// selection subscribes to the whole log, so that progress sees every
// position, and lets through what the handler wants. It notes an event as
// owned before noting it as seen, so that Settled never counts an event as
// seen before it counts it as due. What it does not let through is seen
// (and its position checkpointed by the subscriber) without ever being
// owned: nothing to wait for.
func (p *progress) selection(want, owns func(eventstore.RecordedEvent) bool) watermillstore.TopicMapper {
	return func(string) watermillstore.Selection {
		return watermillstore.Selection{Match: func(ev eventstore.RecordedEvent) bool {
			ok := want(ev)
			if ok && owns(ev) {
				storeMax(&p.own, ev.Position)
			}
			storeMax(&p.seen, ev.Position)
			return ok
		}}
	}
}

// keyMemo keeps the partition keys computed lately, by position, for every
// partition: each partition's subscription looks at every trigger event
// (and the subscriber checks the partition again right after selection),
// and those following the log's end look at an event at about the same
// time, so its payload is decoded about once rather than once per
// partition and check.
type keyMemo struct {
	slots [keyMemoSlots]atomic.Pointer[keyAt]
}

// keyMemoSlots covers partitions this many positions apart.
const keyMemoSlots = 1024

type keyAt struct {
	pos eventstore.Position
	key string
}

func (m *keyMemo) of(ev eventstore.RecordedEvent) string {
	slot := &m.slots[ev.Position%keyMemoSlots]
	if k := slot.Load(); k != nil && k.pos == ev.Position {
		return k.key
	}
	k := partitionKey(ev)
	slot.Store(&keyAt{ev.Position, k})
	return k
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

// deadLetter records in DeadLetterStream an event its handler still fails
// on after the retries, and lets it be acknowledged so that it never holds
// up the events after it. A failure of the system rather than of the event
// (the router stopping, an overloaded or closed store) is returned instead:
// the event is delivered again later, not given up.
func deadLetter(pub message.Publisher, given prometheus.Counter) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil || msg.Context().Err() != nil || transient(err) {
				return out, err
			}
			if perr := pub.Publish(DeadLetterStream, deadLetterOf(msg, err)); perr != nil {
				return out, errors.Join(err, fmt.Errorf("dead letter: %w", perr))
			}
			given.Inc()
			return out, nil
		}
	}
}

func transient(err error) bool {
	for _, target := range []error{eventstore.ErrOverloaded, eventstore.ErrClosed, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// deadLetterOf is the dead letter of a delivered event. Its message UUID is
// the event's id, so the publisher derives one dead-letter id per event:
// an event that fails again after a redelivery adds nothing. The keys the
// store assigns (event_id, stream, position...) are stored under
// origin_*; the type is renamed (DeadLetterTypePrefix) and kept as
// origin_event_type.
func deadLetterOf(msg *message.Message, err error) *message.Message {
	md := make(message.Metadata, len(msg.Metadata)+4)
	for k, v := range msg.Metadata {
		md[k] = v
	}
	typ := md.Get(watermillstore.MetadataEventType)
	md.Set(watermillstore.MetadataEventType, DeadLetterTypePrefix+typ)
	md.Set(watermillstore.OriginPrefix+watermillstore.MetadataEventType, typ)
	md.Set(watermillstore.MetadataCausationID, md.Get(watermillstore.MetadataEventID))
	md.Set(middleware.ReasonForPoisonedKey, err.Error())
	handler := message.HandlerNameFromCtx(msg.Context())
	if handler == "" { // a shared consumer, not a Watermill handler
		handler, _ = msg.Context().Value(handlerNameKey{}).(string)
	}
	md.Set(middleware.PoisonedHandlerKey, handler)

	id := md.Get(watermillstore.MetadataEventID)
	if id == "" {
		id = msg.UUID
	}
	dl := message.NewMessage(id, msg.Payload)
	dl.Metadata = md
	dl.SetContext(msg.Context())
	return dl
}

func isTrigger(ev eventstore.RecordedEvent) bool { return strings.HasPrefix(ev.Stream, triggerTopic) }

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
	recorded, err := time.Parse(time.RFC3339Nano, md.Get(watermillstore.MetadataRecordedAt))
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("message %s: recorded_at: %w", msg.UUID, err)
	}
	rev, _ := strconv.ParseUint(md.Get(watermillstore.MetadataRevision), 10, 64)
	schema, _ := strconv.Atoi(md.Get(watermillstore.MetadataSchemaVersion))
	ev := eventstore.RecordedEvent{Stream: md.Get(watermillstore.MetadataStream), Revision: rev, Position: pos}
	ev.ID, ev.Type, ev.SchemaVersion, ev.Data = id, md.Get(watermillstore.MetadataEventType), schema, json.RawMessage(msg.Payload)
	ev.Metadata = eventstore.Metadata{
		RecordedAt:       recorded,
		Source:           md.Get(watermillstore.MetadataSource),
		SourceEventID:    md.Get(watermillstore.MetadataSourceEventID),
		CorrelationID:    md.Get(watermillstore.MetadataCorrelationID),
		CausationID:      md.Get(watermillstore.MetadataCausationID),
		Actor:            md.Get(watermillstore.MetadataActor),
		CatalogueVersion: md.Get(watermillstore.MetadataCatalogueVersion),
	}
	if t, err := time.Parse(time.RFC3339Nano, md.Get(watermillstore.MetadataOccurredAt)); err == nil {
		ev.Metadata.OccurredAt = t
	}
	return ev, nil
}
