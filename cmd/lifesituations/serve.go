package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/devclock"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/ingest"
	"lifesituations/adapters/systemclock"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
)

type serveConfig struct {
	addr, data, store     string
	clock, mode, logLevel oneOf
	role                  oneOf
	oidc                  auth.OIDCConfig
	maxInFlight           int
	shutdownTimeout       time.Duration
	core                  coreConfig
	demo                  bool
	clockStart            string
	nats                  brokeringest.Config
	notify                notifyConfig
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	cfg := serveConfig{
		clock:    oneOf{value: "system", allowed: []string{"system", "manual"}},
		mode:     oneOf{value: "dev", allowed: []string{"dev", "prod"}},
		logLevel: oneOf{value: "info", allowed: []string{"debug", "info", "warn", "error"}},
		role:     oneOf{value: roleAll, allowed: []string{roleAll, roleIngest, roleWorker, roleAPI}},
	}
	fs := newFlagSet("serve", "Runs the orchestrator: registry events in, life situations out.", stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&cfg.data, "data", "./data", "data directory of the embedded store")
	fs.StringVar(&cfg.store, "store", "embedded", "event store: embedded, or an EventStoreDB connection string esdb://...")
	fs.Var(&cfg.clock, "clock", "clock: system, or manual (development mode; moved by POST /v1/dev/clock)")
	fs.Var(&cfg.mode, "mode", "dev (development tokens and clock) or prod (OIDC tokens)")
	fs.Var(&cfg.logLevel, "log-level", "debug, info, warn or error")
	fs.StringVar(&cfg.oidc.Issuer, "oidc-issuer", "", "prod: the identity provider's issuer URL")
	fs.StringVar(&cfg.oidc.JWKSURL, "oidc-jwks-url", "", "prod: the identity provider's JWKS URL")
	fs.StringVar(&cfg.oidc.Audience, "oidc-audience", "", "prod: the audience tokens must carry (empty: not checked)")
	fs.StringVar(&cfg.oidc.RoleClaim, "oidc-role-claim", "role", "prod: the claim holding the role")
	fs.StringVar(&cfg.oidc.SubjectClaim, "oidc-subject-claim", "sub", "prod: the claim holding the subject")
	fs.IntVar(&cfg.maxInFlight, "max-inflight", 256, "ingest requests handled at once; more are answered 429")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a stop waits for requests in progress")
	fs.StringVar(&cfg.core.catalogueDir, "catalogue", "", "directory of the catalogue's YAML files (default: the embedded catalogue)")
	fs.DurationVar(&cfg.core.agencyDelay, "agency-delay", 24*time.Hour, "how long after a confirmation the simulated agencies decide (on the server's clock)")
	fs.Var(&cfg.role, "role", "what this process runs: all; ingest (POST /v1/events only); worker (register, sagas, calendar, timers; no public API); api (read APIs and citizen commands, no sagas). Other than all needs --store esdb://")
	fs.IntVar(&cfg.core.workers, "workers", 1, "saga worker groups in this process sharing the partitions (a stopped group's partitions go to the others); --role worker on EventStoreDB ignores it: the server splits the persons between the worker processes")
	fs.IntVar(&cfg.core.partitions, "partitions", 4, "saga handlers splitting the person space (order per person holds); with --role worker on EventStoreDB, the process's consumers of the shared persistent subscription")
	fs.DurationVar(&cfg.core.tick, "tick", time.Second, "how often the calendar and the timers look at the clock")
	fs.StringVar(&cfg.clockStart, "clock-start", "", "manual clock: the time it starts at in a new data directory (RFC 3339; default now)")
	fs.StringVar(&cfg.nats.URL, "nats-url", "", "registries over NATS JetStream: the server URL (empty: only HTTP ingest)")
	fs.StringVar(&cfg.nats.CredentialsFile, "nats-creds", "", "NATS: the orchestrator's credentials file")
	fs.StringVar(&cfg.nats.Subject, "nats-subject", brokeringest.DefaultSubject, "NATS: the subjects registries publish on, * for the registry")
	fs.StringVar(&cfg.nats.DeadLetterSubject, "nats-dead-letter", brokeringest.DefaultDeadLetterSubject, "NATS: where refused messages go, * for the registry")
	fs.StringVar(&cfg.nats.Stream, "nats-stream", brokeringest.DefaultStream, "NATS: the JetStream stream of registry events")
	fs.StringVar(&cfg.nats.DeadLetterStream, "nats-dead-letter-stream", brokeringest.DefaultDeadLetterStream, "NATS: the JetStream stream of dead letters")
	fs.StringVar(&cfg.nats.Durable, "nats-durable", brokeringest.DefaultDurable, "NATS: the durable consumer shared by the orchestrator's processes")
	fs.IntVar(&cfg.nats.Concurrency, "nats-concurrency", 1, "NATS: messages handled at once (1 keeps each registry's order)")
	fs.StringVar(&cfg.notify.webhook, "notify-webhook", "", "notifications out: the gateway URL each notification is POSTed to (empty: off)")
	fs.StringVar(&cfg.notify.topic, "notify-topic", "notifications", "notifications out: the outbound topic")
	fs.DurationVar(&cfg.notify.retryInitial, "notify-retry-initial", 500*time.Millisecond, "notifications out: the first wait after a failed delivery")
	fs.DurationVar(&cfg.notify.retryMax, "notify-retry-max", 5*time.Minute, "notifications out: the longest wait between two attempts")
	fs.BoolVar(&cfg.demo, "demo", false, "development: load a small demo population, move the manual clock and print tokens to sign in with (implies --clock manual)")
	if err := parseWithEnv(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if cfg.store != "embedded" && !strings.HasPrefix(cfg.store, "esdb://") && !strings.HasPrefix(cfg.store, "esdb+discover://") {
		return cfg, fmt.Errorf("--store must be embedded or an esdb:// connection string, not %q", cfg.store)
	}
	if cfg.demo {
		if cfg.mode.value == "prod" {
			return cfg, errors.New("--demo is for development mode only")
		}
		cfg.clock.value = "manual"
	}
	if cfg.clockStart != "" {
		if cfg.clock.value != "manual" {
			return cfg, errors.New("--clock-start needs --clock manual")
		}
		if _, err := time.Parse(time.RFC3339, cfg.clockStart); err != nil {
			return cfg, fmt.Errorf("--clock-start must be an RFC 3339 time such as 2026-03-01T00:00:00Z, not %q", cfg.clockStart)
		}
	}
	if cfg.core.partitions < 1 {
		return cfg, fmt.Errorf("--partitions must be at least 1, not %d", cfg.core.partitions)
	}
	if cfg.core.workers < 1 {
		return cfg, fmt.Errorf("--workers must be at least 1, not %d", cfg.core.workers)
	}
	if cfg.role.value != roleAll && cfg.store == "embedded" {
		return cfg, fmt.Errorf("--role %s needs a store shared between processes: the embedded store is held by one process, which runs --role all; use --store esdb://... (EventStoreDB) to split ingest, workers and API", cfg.role.value)
	}
	if cfg.nats.URL != "" && cfg.role.value != roleAll && cfg.role.value != roleIngest {
		return cfg, fmt.Errorf("--nats-url is ingest: it needs --role all or ingest, not %s", cfg.role.value)
	}
	if cfg.demo && cfg.role.value != roleAll {
		return cfg, errors.New("--demo needs --role all")
	}
	if cfg.core.tick <= 0 || cfg.core.agencyDelay < 0 {
		return cfg, errors.New("--tick must be positive and --agency-delay not negative")
	}
	if cfg.mode.value == "prod" {
		if cfg.clock.value == "manual" {
			return cfg, errors.New("--clock manual is for development mode only: production runs on the system clock")
		}
		if cfg.oidc.Issuer == "" || cfg.oidc.JWKSURL == "" {
			return cfg, errors.New("--mode prod needs --oidc-issuer and --oidc-jwks-url")
		}
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.logLevel.value)
	if err := os.MkdirAll(cfg.data, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}

	var clk clock.Clock = systemclock.Clock{}
	var manual *devclock.Clock
	if cfg.clock.value == "manual" {
		start := systemclock.Clock{}.Now()
		if cfg.clockStart != "" {
			start, _ = time.Parse(time.RFC3339, cfg.clockStart) // checked by parseServe
		}
		if manual, err = devclock.Open(cfg.data, start); err != nil {
			return err
		}
		clk = manual
	}

	store, err := openStore(ctx, cfg, clk, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the event store", "err", err)
		}
	}()

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if b, ok := backgroundOf(store); ok {
		metrics.MustRegister(b.Collectors()...)
	}

	role := cfg.role.value
	ingests := role == roleAll || role == roleIngest
	persons := register.NewIndex()
	var ready atomic.Bool
	if ingests {
		if err := persons.Rebuild(ctx, store); err != nil {
			return fmt.Errorf("rebuild the register of known persons: %w", err)
		}
	}
	var core *core // nil in an ingest process
	if role != roleIngest {
		cfg.core.data, cfg.core.metrics = cfg.data, metrics
		cfg.core.withoutSagas = role == roleAPI
		cfg.core.withoutCabinet = role == roleWorker
		if role == roleWorker {
			if cfg.core.shared, err = sharedTriggers(store); err != nil {
				return err
			}
		}
		if core, err = openCore(store, clk, cfg.core, log); err != nil {
			return err
		}
		defer func() {
			if err := core.close(); err != nil {
				log.Error("closing the core", "err", err)
			}
		}()
		if manual != nil {
			manual.OnSettle(core.settle)
		}
	}

	ingestMetrics, err := ingest.NewMetrics(metrics)
	if err != nil {
		return fmt.Errorf("ingest metrics: %w", err)
	}
	ingestHandler, err := ingest.NewHandler(ingest.Config{
		Store: store, Register: persons, Clock: clk, Logger: log,
		Metrics: ingestMetrics, MaxInFlight: cfg.maxInFlight,
	})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}

	var brokerDone chan error // stays nil (never ready) without a broker
	if cfg.nats.URL != "" && ingests {
		cfg.nats.Submitter, cfg.nats.Clock, cfg.nats.Logger, cfg.nats.Registerer = ingestHandler.Submitter(), clk, log, metrics
		broker, err := brokeringest.New(cfg.nats)
		if err != nil {
			return fmt.Errorf("registries over NATS: %w", err)
		}
		// Deferred after the store's Close, so it runs before it: nothing
		// is acknowledged to the broker that the store did not keep.
		defer broker.Close()
		brokerDone = make(chan error, 1)
		go func() { brokerDone <- broker.Run(ctx) }()
	}

	deps := apiDeps{core: core, log: log, metrics: metrics, dev: cfg.mode.value == "dev", notify: cfg.notify, data: cfg.data}
	if deps.dev {
		dev, err := auth.NewDev(cfg.data, clk)
		if err != nil {
			return err
		}
		deps.tokens, deps.auth = dev, dev
	} else {
		cfg.oidc.Clock = clk
		oidc, err := auth.NewOIDC(ctx, cfg.oidc)
		if err != nil {
			return err
		}
		deps.auth = oidc
	}
	routes, pages, err := roleRoutes(role, ingestHandler, deps)
	if err != nil {
		return err
	}
	api := httpapi.Config{
		Dev:     deps.dev,
		Tokens:  deps.tokens,
		Auth:    deps.auth,
		Ready:   func() error { return readiness(&ready) },
		Metrics: promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics}),
		Routes:  routes,
		Public:  pages,
		Logger:  log,
	}
	if manual != nil {
		api.Clock = manual
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{
		Handler:           httpapi.NewHandler(api),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	defer srv.Close()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// The core runs until the stop; it is ready once it has caught up with
	// the log, and only then does the server say it is listening.
	coreCtx, stopCore := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCore()
	caughtUp := make(chan struct{})
	var coreDone chan error // stays nil (never ready) without a core
	if core != nil {
		coreDone = make(chan error, 1)
		go func() {
			coreDone <- core.run(coreCtx, func() { ready.Store(true); close(caughtUp) })
		}()
	} else {
		ready.Store(true)
		close(caughtUp)
	}
	select {
	case <-caughtUp:
	case err := <-coreDone:
		return fmt.Errorf("starting: %w", err)
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	if ctx.Err() == nil {
		fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
		log.Info("serving", "addr", ln.Addr().String(), "role", role, "workers", cfg.core.workers, "mode", cfg.mode.value, "clock", cfg.clock.value, "store", cfg.store, "data", cfg.data)
		if cfg.demo {
			if err := loadDemo(ctx, cfg.data, "http://"+ln.Addr().String(), clk.Now(), stdout); err != nil {
				log.Error("demo", "err", err)
			}
		}
		select {
		case err := <-served:
			return fmt.Errorf("http server: %w", err)
		case err := <-coreDone:
			return fmt.Errorf("core stopped: %w", err)
		case err := <-brokerDone:
			return fmt.Errorf("registries over NATS stopped: %w", err)
		case <-ctx.Done():
		}
	}
	log.Info("stopping: finishing requests in progress")
	ready.Store(false)
	// Shutdown waits for requests in progress, each of which answers only
	// after its events are durable; the core stops next, and the deferred
	// Close then drains the store's queue. Nothing acknowledged is lost.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopCore()
	if coreDone != nil {
		if err := <-coreDone; err != nil {
			log.Error("core", "err", err)
		}
	}
	log.Info("stopped")
	return nil
}

// The roles of a serve process (--role).
const (
	roleAll    = "all"    // everything, the only role on the embedded store
	roleIngest = "ingest" // POST /v1/events (and the broker path)
	roleWorker = "worker" // register, sagas, calendar, timers; no public API
	roleAPI    = "api"    // read APIs and citizen commands; no sagas
)

// ingestRoute is the pattern of the registries' endpoint.
const ingestRoute = "POST /v1/events"

// roleRoutes are the public endpoints a process of role serves; health,
// readiness, metrics and the development endpoints are httpapi's own.
func roleRoutes(role string, ingestHandler http.Handler, d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	switch role {
	case roleIngest:
		return []httpapi.Route{{Pattern: ingestRoute, Roles: []auth.Role{auth.RoleRegistry}, Handler: ingestHandler}}, nil, nil
	case roleWorker:
		return nil, nil, nil
	}
	routes, pages, err := serverRoutes(ingestHandler, d)
	if err != nil || role == roleAll {
		return routes, pages, err
	}
	api := routes[:0:0]
	for _, r := range routes {
		if r.Pattern != ingestRoute {
			api = append(api, r)
		}
	}
	return api, pages, nil
}

func openStore(ctx context.Context, cfg serveConfig, clk clock.Clock, log *slog.Logger) (eventstore.Store, error) {
	if cfg.store != "embedded" {
		// Open reads the log's positions once: bound it.
		octx, cancel := context.WithTimeout(ctx, esdbOpenTimeout)
		defer cancel()
		s, err := esdb.Open(octx, cfg.store, esdb.WithLogger(log), esdb.WithClock(clk))
		if err != nil {
			return nil, fmt.Errorf("connect to EventStoreDB: %w", err)
		}
		return sealESDB(s), nil
	}
	s, err := embedded.Open(cfg.data, embedded.WithClock(clk))
	if err != nil {
		return nil, fmt.Errorf("open the embedded store in %s: %w", cfg.data, err)
	}
	return sealStore(s, cfg.data)
}

// backgroundWork is a store that tells what it does behind its appends
// (the embedded store's flushes and compactions).
type backgroundWork interface {
	Background() embedded.Background
	Collectors() []prometheus.Collector
}

// backgroundOf finds the store below its decorators that tells its
// background work.
func backgroundOf(s eventstore.Store) (backgroundWork, bool) {
	for {
		if b, ok := s.(backgroundWork); ok {
			return b, true
		}
		inner, ok := s.(interface{ Inner() eventstore.Store })
		if !ok {
			return nil, false
		}
		s = inner.Inner()
	}
}

// esdbOpenTimeout bounds connecting to EventStoreDB and reading its log's
// positions at start.
const esdbOpenTimeout = 10 * time.Minute

func readiness(ready *atomic.Bool) error {
	if !ready.Load() {
		return errors.New("starting or stopping: the store is not open or subscriptions have not caught up")
	}
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
