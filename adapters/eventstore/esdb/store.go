package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

// Store is the EventStoreDB implementation of eventstore.Store.
type Store struct {
	cfg   config
	log   *slog.Logger
	idx   *index
	locks streamLocks

	// client is replaced when the library gives it up (see guard).
	clientMu sync.Mutex
	client   *clientRef
	conf     *esdbclient.Configuration

	closing   chan struct{}
	closeOnce sync.Once
	bg        sync.WaitGroup
	bgCancel  context.CancelFunc
}

var _ eventstore.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	log   *slog.Logger
	clock clock.Clock
	// writeWindow bounds the time between writing an append's intents and
	// the server taking its write (see the package documentation).
	writeWindow time.Duration
	// settle is how long an intent for another stream must be seen pending
	// before it is taken for dead.
	settle time.Duration
	// Position index: an anchor every anchorEvery ordinals, the last
	// recentSize ordinals held in full.
	anchorEvery int
	recentSize  int
	parallel    int
	// outage is how long subscriptions keep subscribing again while the
	// server cannot be reached.
	outage time.Duration
}

func defaultConfig() config {
	return config{
		log:         slog.Default(),
		writeWindow: 5 * time.Second,
		settle:      time.Minute,
		anchorEvery: 1024,
		recentSize:  1 << 16,
		parallel:    16,
		outage:      5 * time.Minute,
	}
}

// WithLogger sets the logger (default slog.Default()). The client
// library's own messages go to it at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock makes the store stamp Metadata.RecordedAt with the clock's
// time when it appends (carried in the event's metadata), as the embedded
// store does. Without it, RecordedAt is the server's "created" stamp of
// the event: the time on the EventStoreDB leader's clock.
func WithClock(c clock.Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithIntentTimings sets the two durations the event-id protocol relies on
// (see the package documentation): an append writes its events within
// write of writing its intents, or gives up and starts again; an intent
// for another stream that stays pending for settle is dead. settle must
// exceed write by far more than the server can take to apply a write it
// has received. Defaults: 5 s and 1 min.
func WithIntentTimings(write, settle time.Duration) Option {
	return func(c *config) { c.writeWindow, c.settle = write, settle }
}

// WithOutageTolerance sets how long SubscribeAll and SubscribePersistent
// keep trying to subscribe again while the server cannot be reached
// before they return the error (default 5 min).
func WithOutageTolerance(d time.Duration) Option { return func(c *config) { c.outage = d } }

// withIndexSizes shrinks the position index, so that tests reach the paths
// a large log takes.
func withIndexSizes(anchorEvery, recentSize int) Option {
	return func(c *config) { c.anchorEvery, c.recentSize = anchorEvery, recentSize }
}

func (c config) validate() error {
	switch {
	case c.log == nil:
		return errors.New("logger is nil")
	case c.writeWindow <= 0 || c.settle <= c.writeWindow:
		return fmt.Errorf("intent timings: write %s, settle %s: want 0 < write < settle", c.writeWindow, c.settle)
	case c.anchorEvery <= 0 || c.recentSize < c.anchorEvery:
		return fmt.Errorf("index sizes %d/%d: want 0 < anchor interval <= recent window", c.anchorEvery, c.recentSize)
	}
	return nil
}

// Open connects to EventStoreDB with a connection string
// (esdb://host:2113?tls=false, esdb://h1:2113,h2:2113,h3:2113?tls=true,
// esdb+discover://cluster.example:2113) and returns once the adapter's
// position index has caught up with $all (see the package documentation:
// that reads every event of $all once).
func Open(ctx context.Context, connection string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open EventStoreDB store: %w", err)
	}
	conf, err := esdbclient.ParseConnectionString(connection)
	if err != nil {
		return nil, fmt.Errorf("open EventStoreDB store: connection string: %w", err)
	}
	log := cfg.log
	conf.Logger = func(level esdbclient.LogLevel, format string, args ...any) {
		log.Debug(fmt.Sprintf("esdb client: "+format, args...), "level", level)
	}
	client, err := esdbclient.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("open EventStoreDB store: %w", err)
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s := &Store{
		client:   newClientRef(client),
		conf:     conf,
		cfg:      cfg,
		log:      log,
		locks:    streamLocks{m: map[string]*streamLock{}},
		closing:  make(chan struct{}),
		bgCancel: cancel,
	}
	// Connect before anything runs concurrently: the client library
	// discovers the node on first use, and a caller that arrives during a
	// discovery that fails is left blocked for good.
	if err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		_, err := c.GetServerVersion()
		return err
	}); err != nil {
		cancel()
		s.clientMu.Lock()
		s.retire(s.client)
		s.clientMu.Unlock()
		return nil, fmt.Errorf("open EventStoreDB store: connect: %w", err)
	}
	s.idx = newIndex(s)
	s.bg.Go(func() { s.idx.run(bgCtx) })
	s.bg.Go(func() { s.watchdog(bgCtx) })
	if _, err := s.LastPosition(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open EventStoreDB store: %w", err)
	}
	return s, nil
}

// Close ends the subscriptions (they return eventstore.ErrClosed) and the
// connection. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.bgCancel()
		s.clientMu.Lock()
		s.retire(s.client)
		s.clientMu.Unlock()
		s.bg.Wait()
	})
	return nil
}

// clientRef is a client with the guarded calls running in it.
type clientRef struct {
	c        *esdbclient.Client
	inflight int
	retired  bool // close it once no call runs in it
	closed   bool
	// replaced is closed when another client takes over.
	replaced chan struct{}
}

func newClientRef(c *esdbclient.Client) *clientRef {
	return &clientRef{c: c, replaced: make(chan struct{})}
}

// errReplaced: the call was left in a client the library had given up.
var errReplaced = errors.New("EventStoreDB client replaced after the library gave it up; try again")

// guard runs fn, which calls into the client library, with the current
// client. The library v4.2.0 keeps its connection in a goroutine fed by
// an unbuffered channel: when a (re)discovery of the node fails, that
// goroutine ends and the client is closed for good, and callers that
// were already waiting on the channel block forever (closing the client
// would then panic them: "send on closed channel"). So fn runs in a
// goroutine of its own: guard returns when ctx is done or the store closes
// even if fn is stuck, and a client the library has given up is replaced
// by a new one for the next calls. A client is closed only once no
// guarded call runs in it; the calls stuck in a given-up client stay
// stuck (a few goroutines per outage), which is the price of not closing
// a channel under them.
func (s *Store) guard(ctx context.Context, fn func(context.Context, *esdbclient.Client) error) error {
	s.clientMu.Lock()
	ref := s.client
	ref.inflight++
	s.clientMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("EventStoreDB client: %v", r)
			}
			s.clientMu.Lock()
			ref.inflight--
			s.closeIfIdle(ref)
			s.clientMu.Unlock()
		}()
		done <- fn(ctx, ref.c)
	}()
	var err error
	select {
	case err = <-done:
		cancel()
	case <-ctx.Done():
		cancel()
		return s.failure(ctx, ctx.Err())
	case <-s.closing:
		cancel()
		return eventstore.ErrClosed
	case <-ref.replaced:
		cancel()
		return errReplaced
	}
	if isCode(err, esdbclient.ErrorCodeConnectionClosed) && !s.isClosed() {
		s.renew(ref)
	}
	return err
}

// renew replaces a client the library has closed.
func (s *Store) renew(dead *clientRef) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.client != dead || s.isClosed() {
		return
	}
	c, err := esdbclient.NewClient(s.conf)
	if err != nil {
		s.log.Error("EventStoreDB: cannot make a new client", "err", err)
		return
	}
	s.log.Warn("EventStoreDB: the client library gave its connection up (the node could not be discovered); connecting again with a new client")
	s.client = newClientRef(c)
	close(dead.replaced)
	s.retire(dead)
}

// watchdog asks the client every second whether the library has given it
// up (a given-up client answers at once), so that a client is replaced
// even when every call in it is stuck.
func (s *Store) watchdog(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = s.guard(pctx, func(_ context.Context, c *esdbclient.Client) error {
			_, err := c.GetServerVersion()
			return err
		})
		cancel()
	}
}

// retire marks a client for closing once no guarded call runs in it.
// s.clientMu is held.
func (s *Store) retire(ref *clientRef) {
	ref.retired = true
	s.closeIfIdle(ref)
}

// closeIfIdle closes a retired client with no call in it; s.clientMu is
// held.
func (s *Store) closeIfIdle(ref *clientRef) {
	if ref.retired && ref.inflight == 0 && !ref.closed {
		ref.closed = true
		closeQuietly(ref.c)
	}
}

// closeQuietly closes a client, recovering whatever the library panics.
func closeQuietly(c *esdbclient.Client) {
	defer func() { _ = recover() }()
	_ = c.Close()
}

// usable returns the error an operation must return before it starts.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
		return nil
	}
}

// failure turns an error of the client into the one to return: ErrClosed
// once the store is closed, the context's error once it is done.
func (s *Store) failure(ctx context.Context, err error) error {
	select {
	case <-s.closing:
		return eventstore.ErrClosed
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func errorCode(err error) (esdbclient.ErrorCode, bool) {
	var e *esdbclient.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

func isCode(err error, code esdbclient.ErrorCode) bool {
	c, ok := errorCode(err)
	return ok && c == code
}

// readStream reads up to count events of a stream; found is false when the
// stream has no event.
func (s *Store) readStream(ctx context.Context, stream string, opts esdbclient.ReadStreamOptions, count uint64) ([]*esdbclient.ResolvedEvent, bool, error) {
	// Written by the guarded call, read only once it has returned.
	var evs []*esdbclient.ResolvedEvent
	var found bool
	err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		rs, err := c.ReadStream(ctx, stream, opts, count)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				found = true
				return nil
			}
			if isCode(err, esdbclient.ErrorCodeResourceNotFound) {
				evs = nil
				return nil
			}
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
	})
	if err != nil {
		return nil, false, s.failure(ctx, fmt.Errorf("read %s: %w", stream, err))
	}
	return evs, found, nil
}

// readAllPage reads up to count events of $all in a direction from a
// position (inclusive forwards on EventStoreDB).
func (s *Store) readAllPage(ctx context.Context, from esdbclient.AllPosition, dir esdbclient.Direction, count uint64) ([]*esdbclient.ResolvedEvent, error) {
	var evs []*esdbclient.ResolvedEvent // written by the guarded call
	err := s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		rs, err := c.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: dir, From: from}, count)
		if err != nil {
			return err
		}
		defer rs.Close()
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
	})
	if err != nil {
		return nil, s.failure(ctx, fmt.Errorf("read $all: %w", err))
	}
	return evs, nil
}

// head is a stream's last revision and that event's $all position.
type head struct {
	last   eventstore.Revision
	pos    esdbclient.Position
	exists bool
}

func (s *Store) head(ctx context.Context, stream string) (head, error) {
	evs, found, err := s.readStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 1)
	if err != nil || !found || len(evs) == 0 {
		return head{}, err
	}
	ev := evs[0].OriginalEvent()
	return head{last: ev.EventNumber, pos: ev.Position, exists: true}, nil
}

// eventAt reads the event at a revision of a stream (nil if none).
func (s *Store) eventAt(ctx context.Context, stream string, rev eventstore.Revision) (*esdbclient.RecordedEvent, error) {
	evs, _, err := s.readStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Forwards, From: esdbclient.Revision(rev)}, 1)
	if err != nil || len(evs) == 0 || evs[0].OriginalEvent().EventNumber != rev {
		return nil, err
	}
	return evs[0].OriginalEvent(), nil
}

// sleep waits d, or until ctx is done or the store closes.
func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return eventstore.ErrClosed
	}
}

// reconnect paces the attempts of a subscription to subscribe again after
// it dropped or failed to start: waits growing to a second, and an error
// once it has failed for longer than the outage tolerance.
type reconnect struct {
	s        *Store
	failures int
	since    time.Time
}

// ok says the subscription worked: the next failure starts a new count.
func (r *reconnect) ok() { r.failures = 0 }

func (r *reconnect) wait(ctx context.Context, cause error) error {
	if r.failures == 0 {
		r.since = time.Now()
	}
	r.failures++
	if time.Since(r.since) > r.s.cfg.outage {
		return fmt.Errorf("EventStoreDB unreachable for %s: %w", r.s.cfg.outage, cause)
	}
	return r.s.sleep(ctx, min(10*time.Millisecond<<min(r.failures, 7), time.Second))
}

// backoff is the wait before retry attempt n (from 0): exponential from
// 1 ms to 100 ms, with jitter so that competing appenders spread out.
func backoff(n int) time.Duration {
	d := time.Millisecond << min(n, 7)
	d = min(d, 100*time.Millisecond)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// streamLocks serialises this process's appends to one stream, so that
// they do not race each other for the same revision on the server (other
// processes still may: the expected revision settles that).
type streamLocks struct {
	mu sync.Mutex
	m  map[string]*streamLock
}

type streamLock struct {
	sem  chan struct{}
	refs int
}

// lock takes the stream's lock, or fails when ctx is done first.
func (l *streamLocks) lock(ctx context.Context, stream string) (func(), error) {
	l.mu.Lock()
	sl, ok := l.m[stream]
	if !ok {
		sl = &streamLock{sem: make(chan struct{}, 1)}
		l.m[stream] = sl
	}
	sl.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		sl.refs--
		if sl.refs == 0 {
			delete(l.m, stream)
		}
		l.mu.Unlock()
	}
	select {
	case sl.sem <- struct{}{}:
		return func() { <-sl.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
