package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/ingest"
	synthetic "lifesituations/adapters/population"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

const benchCompareSummary = `Compares, in one run on this machine, the paths a workload of life events can
take through lifesituations, each on a fresh store with the same synthetic
population (adapters/population, --persons, --seed) and the same burst of
--events life events (births, deaths, moves, marriages):
  (a) the embedded store, HTTP ingest, one process, 1 saga worker group;
  (b) the same with the registry events arriving over NATS JetStream
      (adapters/brokeringest; skipped, saying so, when --nats-url is not
      reachable);
  (c) the embedded store with --workers saga worker groups in the process;
  (d) the in-process EventStoreDB DOUBLE (esdbdouble, not a real server)
      with 1 worker process, then with --esdb-workers worker processes
      sharing the person space through a persistent subscription (each a
      store client and a core in this process, without a cabinet as
      --role worker; an api core folds the cabinet; --esdb-workers 0
      skips).
The population's registrations are appended straight to the store and the
core catches up before the clock starts; then the burst is sent in batches
of 500 and timed from the first request (or publish) until every
consequence is decided and visible in the cabinet, as bench population's
burst. Reported: life events/s end to end, the ratio to (a), and life
events/s per worker (group or process).`

type compareConfig struct {
	persons, events, partitions, workers, esdbWorkers int
	seed                                              uint64
	start, natsURL, only, cpuprofile                  string
}

func parseCompareBench(args []string, stderr io.Writer) (compareConfig, error) {
	var cfg compareConfig
	fs := newFlagSet("bench compare", benchCompareSummary, stderr)
	fs.IntVar(&cfg.persons, "persons", 20_000, "persons in the population")
	fs.IntVar(&cfg.events, "events", 2_000, "life events of the burst each path is timed on (at most a tenth of the population)")
	fs.IntVar(&cfg.partitions, "partitions", 4, "saga partitions (embedded) or consumers per worker process (EventStoreDB)")
	fs.IntVar(&cfg.workers, "workers", 4, "saga worker groups of case (c), at most --partitions")
	fs.IntVar(&cfg.esdbWorkers, "esdb-workers", 3, "worker processes of case (d) besides the one-worker run (0: skip (d))")
	fs.StringVar(&cfg.natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS server of case (b) (empty: skip it)")
	fs.StringVar(&cfg.start, "start", "2026-01-01", "the simulated day")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the population")
	fs.StringVar(&cfg.only, "only", "", "run only these cases, e.g. ad (the ratios need (a))")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := parseWithEnv(fs, args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("bench compare: unexpected argument %q", fs.Arg(0))
	case cfg.only != "" && !strings.Contains(cfg.only, "a"):
		return cfg, errors.New("bench compare: --only must include a: the ratios are to (a)")
	case cfg.persons < 100:
		return cfg, errors.New("bench compare: --persons must be at least 100")
	case cfg.events < 1 || cfg.partitions < 1 || cfg.workers < 1 || cfg.esdbWorkers < 0:
		return cfg, errors.New("bench compare: --events, --partitions and --workers must be at least 1, --esdb-workers not negative")
	case cfg.workers > cfg.partitions:
		return cfg, fmt.Errorf("bench compare: --workers %d is more than --partitions %d: a group would have no partition", cfg.workers, cfg.partitions)
	}
	if _, err := time.Parse(time.DateOnly, cfg.start); err != nil {
		return cfg, fmt.Errorf("bench compare: --start: %w", err)
	}
	cfg.events = min(cfg.events, cfg.persons/10)
	return cfg, nil
}

// compareWorkload is what every case runs: the same population and burst.
type compareWorkload struct {
	start   time.Time
	initial []synthetic.Event
	burst   []synthetic.Event
	summary string
}

// compareResult is one case's measurement.
type compareResult struct {
	id, what string
	workers  int // worker groups or processes
	events   int
	elapsed  time.Duration
	opened   string // what the burst opened, to show each case did the same work
	split    string // how the worker processes shared the triggers
	skipped  string // why the case did not run
}

func (r compareResult) rate() float64 {
	if r.skipped != "" || r.elapsed <= 0 {
		return 0
	}
	return float64(r.events) / r.elapsed.Seconds()
}

func benchCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseCompareBench(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lifesituations-bench-compare-")
	if err != nil {
		return fmt.Errorf("bench compare: %w", err)
	}
	defer os.RemoveAll(dir)
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench compare: "+format+"\n", a...) }
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return fmt.Errorf("bench compare: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench compare: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintf(stdout, "lifesituations bench compare --persons %d --events %d --partitions %d --workers %d --esdb-workers %d (seed %d, on %s)\n",
		cfg.persons, cfg.events, cfg.partitions, cfg.workers, cfg.esdbWorkers, cfg.seed, cfg.start)
	fmt.Fprintf(stdout, "machine: %s; load average at the start %s\n", popMachine(), popLoad())
	w, err := compareGenerate(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workload: %s; %d registration events appended straight to each store; a burst of %d life events (%s)\n",
		w.summary, len(w.initial), len(w.burst), compareKinds(w.burst))

	type run struct {
		id, what string
		workers  int
		fn       func(ctx context.Context, dir string) (compareResult, error)
	}
	runs := []run{
		{"a", "embedded, HTTP ingest, 1 process", 1, func(ctx context.Context, d string) (compareResult, error) {
			return compareEmbedded(ctx, cfg, w, d, 1, false)
		}},
		{"b", "embedded, registries over NATS JetStream, 1 process", 1, func(ctx context.Context, d string) (compareResult, error) {
			if why := natsUnreachable(cfg.natsURL); why != "" {
				return compareResult{skipped: why}, nil
			}
			return compareEmbedded(ctx, cfg, w, d, 1, true)
		}},
		{"c", fmt.Sprintf("embedded, HTTP ingest, %d worker groups in 1 process", cfg.workers), cfg.workers, func(ctx context.Context, d string) (compareResult, error) {
			return compareEmbedded(ctx, cfg, w, d, cfg.workers, false)
		}},
	}
	if cfg.esdbWorkers > 0 {
		for _, n := range slices.Compact([]int{1, cfg.esdbWorkers}) {
			runs = append(runs, run{"d", fmt.Sprintf("EventStoreDB DOUBLE, HTTP ingest, %d worker process(es)", n), n, func(ctx context.Context, d string) (compareResult, error) {
				return compareESDB(ctx, cfg, w, d, n)
			}})
		}
	}
	var results []compareResult
	for i, r := range runs {
		if cfg.only != "" && !strings.Contains(cfg.only, r.id) {
			continue
		}
		progress("(%s) %s", r.id, r.what)
		res, err := r.fn(ctx, filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			return fmt.Errorf("bench compare (%s) %s: %w", r.id, r.what, err)
		}
		res.id, res.what, res.workers = r.id, r.what, r.workers
		results = append(results, res)
	}
	compareReport(stdout, results)
	fmt.Fprintf(stdout, "load average at the end %s (other work on the machine counts in it)\n", popLoad())
	return nil
}

// compareGenerate makes the population, its registrations and the burst.
func compareGenerate(cfg compareConfig) (compareWorkload, error) {
	day, _ := time.Parse(time.DateOnly, cfg.start) // checked by parseCompareBench
	w := compareWorkload{start: day.Add(12 * time.Hour)}
	pop, err := synthetic.New(synthetic.Config{Persons: cfg.persons, Seed: cfg.seed, Start: w.start})
	if err != nil {
		return w, fmt.Errorf("population: %w", err)
	}
	for e := range pop.Initial() {
		w.initial = append(w.initial, e)
	}
	w.burst = pop.Events(cfg.events)
	// Each registry sends its own, as bench population's burst does.
	slices.SortStableFunc(w.burst, func(x, y synthetic.Event) int { return strings.Compare(x.Source, y.Source) })
	w.summary = pop.Summary().String()
	return w, nil
}

func compareKinds(events []synthetic.Event) string {
	m := map[lifeevent.Type]int{}
	for _, e := range events {
		m[e.Type]++
	}
	return popTypeCounts(m)
}

// compareReport prints the table: rates, ratios to (a), per worker.
func compareReport(out io.Writer, results []compareResult) {
	base := results[0].rate()
	fmt.Fprintf(out, "\n%-3s %-62s %8s %10s %12s %8s %12s\n", "", "path", "workers", "events", "time", "ev/s", "vs (a)")
	for _, r := range results {
		if r.skipped != "" {
			fmt.Fprintf(out, "%-3s %-62s SKIPPED: %s\n", "("+r.id+")", r.what, r.skipped)
			continue
		}
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", r.rate()/base)
		}
		fmt.Fprintf(out, "%-3s %-62s %8d %10d %12s %8.0f %12s\n", "("+r.id+")", r.what, r.workers, r.events, r.elapsed.Round(time.Millisecond), r.rate(), ratio)
	}
	fmt.Fprintln(out, "\nper worker (life events/s end to end divided by the worker groups or processes):")
	for _, r := range results {
		if r.skipped == "" {
			fmt.Fprintf(out, "  (%s) %s: %.0f life events/s per worker\n", r.id, r.what, r.rate()/float64(r.workers))
		}
	}
	fmt.Fprintln(out, "\nwhat each burst opened (the same work in every case):")
	for _, r := range results {
		if r.skipped == "" {
			fmt.Fprintf(out, "  (%s) %s\n", r.id, r.opened)
			if r.split != "" {
				fmt.Fprintf(out, "      triggers handled per worker process: %s\n", r.split)
			}
		}
	}
}

// natsUnreachable is why case (b) cannot run, "" when it can.
func natsUnreachable(url string) string {
	if url == "" {
		return "no --nats-url"
	}
	host := strings.TrimPrefix(url, "nats://")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	c, err := net.DialTimeout("tcp", host, time.Second)
	if err != nil {
		return fmt.Sprintf("NATS is not reachable at %s (%v)", host, err)
	}
	_ = c.Close()
	return ""
}

// compareLoad appends the registrations straight to the store, in big
// batches as ingest would have stored them, and folds them into the index
// of known persons ingest validates against.
func compareLoad(ctx context.Context, store eventstore.Store, index *register.Index, events []synthetic.Event) error {
	const batch = embedded.DefaultMaxBatch
	for i := 0; i < len(events); i += batch {
		appends := synthetic.Appends(events[i:min(i+batch, len(events))])
		for _, a := range appends {
			for _, e := range a.Events {
				if err := index.Apply(eventstore.RecordedEvent{Event: e, Stream: a.Stream}); err != nil {
					return fmt.Errorf("load: %w", err)
				}
			}
		}
		if _, err := store.AppendMany(ctx, appends); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}

// compareCore runs a core until the returned stop, once it has caught up.
func compareCore(ctx context.Context, store eventstore.Store, clk clock.Clock, cfg coreConfig, log *slog.Logger) (*core, func() error, error) {
	c, err := openCore(store, clk, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- c.run(runCtx, func() { close(ready) }) }()
	stop := func() error {
		cancel()
		return errors.Join(<-done, c.close())
	}
	select {
	case <-ready:
		return c, stop, nil
	case err := <-done:
		return nil, nil, errors.Join(fmt.Errorf("core: %w", err), c.close())
	case <-ctx.Done():
		return nil, nil, errors.Join(ctx.Err(), stop())
	}
}

// compareIngest serves POST /v1/events on loopback for the sender.
type compareIngest struct {
	handler *ingest.Handler
	srv     *httptest.Server
	sender  *popBench // its post and send methods
}

func newCompareIngest(store eventstore.Store, index *register.Index, clk clock.Clock, data string, metrics *prometheus.Registry, log *slog.Logger) (*compareIngest, error) {
	im, err := ingest.NewMetrics(metrics)
	if err != nil {
		return nil, err
	}
	h, err := ingest.NewHandler(ingest.Config{Store: store, Register: index, Clock: clk, Logger: log, Metrics: im, MaxInFlight: 256})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	dev, err := auth.NewDev(data, clk, auth.WithLifetime(100*365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(httpapi.NewHandler(httpapi.Config{
		Dev: true, Tokens: dev, Auth: dev, Logger: log,
		Ready:   func() error { return nil },
		Metrics: promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics}),
		Routes:  []httpapi.Route{{Pattern: "POST " + ingest.Path, Roles: []auth.Role{auth.RoleRegistry}, Handler: h}},
	}))
	sender := &popBench{srv: srv, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: time.Minute}, tokens: map[string]string{}}
	for _, source := range []string{lifeevent.SourcePopulation, lifeevent.SourceCivilStatus, lifeevent.SourceResidence, lifeevent.SourceTax} {
		if sender.tokens[source], err = dev.Issue(auth.Principal{Role: auth.RoleRegistry, Subject: source}); err != nil {
			srv.Close()
			return nil, err
		}
	}
	return &compareIngest{handler: h, srv: srv, sender: sender}, nil
}

func (i *compareIngest) close() { i.srv.Close() }

// compareEmbedded runs case (a), (b) or (c) on a fresh embedded store.
func compareEmbedded(ctx context.Context, cfg compareConfig, w compareWorkload, dir string, workers int, overNATS bool) (compareResult, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewManual(w.start)
	store, err := embedded.Open(dir, embedded.WithClock(clk))
	if err != nil {
		return compareResult{}, fmt.Errorf("open the embedded store: %w", err)
	}
	defer store.Close()
	index := register.NewIndex()
	if err := compareLoad(ctx, store, index, w.initial); err != nil {
		return compareResult{}, err
	}
	metrics := prometheus.NewRegistry()
	c, stop, err := compareCore(ctx, store, clk, coreConfig{
		data: dir, agencyDelay: 24 * time.Hour, partitions: cfg.partitions, workers: workers,
		tick: 24 * time.Hour, metrics: metrics, // the bench settles itself
	}, log)
	if err != nil {
		return compareResult{}, err
	}
	defer stop()
	in, err := newCompareIngest(store, index, clk, dir, metrics, log)
	if err != nil {
		return compareResult{}, err
	}
	defer in.close()
	from, err := store.LastPosition(ctx)
	if err != nil {
		return compareResult{}, err
	}

	var elapsed time.Duration
	if overNATS {
		elapsed, err = compareOverNATS(ctx, cfg.natsURL, w, in, clk, metrics, log, c.caughtUp)
	} else {
		t := time.Now()
		if err = in.sender.post(ctx, w.burst, 500); err == nil {
			err = c.caughtUp(ctx)
		}
		elapsed = time.Since(t)
	}
	if err != nil {
		return compareResult{}, err
	}
	res := compareResult{events: len(w.burst), elapsed: elapsed}
	res.opened, err = compareOpened(ctx, store, from)
	return res, err
}

// compareOverNATS publishes the burst to a JetStream stream of its own, in
// batch messages of 500 per registry, and times it from the first publish
// until ingest has taken every event and the core has caught up.
func compareOverNATS(ctx context.Context, url string, w compareWorkload, in *compareIngest, clk clock.Clock, metrics *prometheus.Registry, log *slog.Logger, caughtUp func(context.Context) error) (time.Duration, error) {
	id := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	subjects := "lscompare" + id + ".*.events"
	stream := "LSCOMPARE" + strings.ToUpper(id)
	broker, err := brokeringest.New(brokeringest.Config{
		URL: url, Submitter: in.handler.Submitter(), Clock: clk, Logger: log, Registerer: metrics,
		Subject: subjects, Stream: stream, DeadLetterSubject: "lscompare" + id + ".*.dead-letter",
		DeadLetterStream: stream + "DL", Durable: "lscompare" + id,
	})
	if err != nil {
		return 0, fmt.Errorf("registries over NATS: %w", err)
	}
	defer broker.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- broker.Run(runCtx) }()
	select {
	case <-broker.Running():
	case err := <-done:
		return 0, fmt.Errorf("registries over NATS: %w", err)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return 0, fmt.Errorf("JetStream: %w", err)
	}
	defer func() { _ = js.DeleteStream(stream); _ = js.DeleteStream(stream + "DL") }()
	pattern, err := brokeringest.ParseSubjects(subjects)
	if err != nil {
		return 0, err
	}
	taken := func() (float64, error) {
		families, err := metrics.Gather()
		if err != nil {
			return 0, err
		}
		var n float64
		for _, f := range families {
			switch f.GetName() {
			case "lifesituations_ingest_events_accepted_total", "lifesituations_ingest_events_duplicate_total", "lifesituations_ingest_events_rejected_total":
				for _, m := range f.GetMetric() {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n, nil
	}
	before, err := taken()
	if err != nil {
		return 0, err
	}
	t := time.Now()
	events := w.burst
	for len(events) > 0 {
		n := 1
		for n < len(events) && n < 500 && events[n].Source == events[0].Source {
			n++
		}
		body, err := synthetic.Batch(events[:n])
		if err != nil {
			return 0, err
		}
		registry, ok := brokeringest.Registry(events[0].Source)
		if !ok {
			return 0, fmt.Errorf("no registry subject for source %s", events[0].Source)
		}
		msg := nats.NewMsg(pattern.Subject(registry))
		msg.Data = body
		msg.Header.Set("Content-Type", synthetic.ContentTypeBatch)
		if _, err := js.PublishMsg(msg, nats.Context(ctx)); err != nil {
			return 0, fmt.Errorf("publish to %s: %w", msg.Subject, err)
		}
		events = events[n:]
	}
	for {
		n, err := taken()
		if err != nil {
			return 0, err
		}
		if n-before >= float64(len(w.burst)) {
			break
		}
		select {
		case err := <-done:
			return 0, fmt.Errorf("registries over NATS stopped: %w", err)
		default:
		}
		if err := sleep(ctx, 2*time.Millisecond); err != nil {
			return 0, err
		}
	}
	if err := caughtUp(ctx); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

// compareOpened counts what the log gained after from.
func compareOpened(ctx context.Context, store eventstore.Store, from eventstore.Position) (string, error) {
	to, err := store.LastPosition(ctx)
	if err != nil {
		return "", err
	}
	counts, err := popCountLog(ctx, store, from, to)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s; steps: %s", counts.situations(), counts.steps()), nil
}

// compareESDB runs case (d): an in-process EventStoreDB DOUBLE, the
// registrations loaded through the adapter, n worker "processes" (each
// its own store client and core, --role worker: a member of the shared
// persistent subscription group) and HTTP ingest on another client.
func compareESDB(ctx context.Context, cfg compareConfig, w compareWorkload, dir string, n int) (res compareResult, err error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := esdbdouble.Start()
	if err != nil {
		return res, fmt.Errorf("start the EventStoreDB double: %w", err)
	}
	defer d.Close()
	clk := clock.NewManual(w.start)
	open := func() (*esdb.Store, error) {
		s, err := esdb.Open(ctx, d.URL(), esdb.WithLogger(log), esdb.WithClock(clk))
		if err != nil {
			return nil, fmt.Errorf("connect to the EventStoreDB double: %w", err)
		}
		return s, nil
	}
	loader, err := open()
	if err != nil {
		return res, err
	}
	defer loader.Close()
	index := register.NewIndex()
	if err := compareLoad(ctx, loader, index, w.initial); err != nil {
		return res, err
	}
	type worker struct {
		core    *core
		metrics *prometheus.Registry
	}
	var workers []worker
	for k := range n {
		s, err := open()
		if err != nil {
			return res, err
		}
		defer s.Close()
		shared, err := sharedTriggers(s)
		if err != nil {
			return res, err
		}
		wdir := filepath.Join(dir, fmt.Sprintf("worker-%d", k))
		if err := os.MkdirAll(wdir, 0o755); err != nil {
			return res, err
		}
		metrics := prometheus.NewRegistry()
		c, stop, err := compareCore(ctx, s, clk, coreConfig{
			data: wdir, agencyDelay: 24 * time.Hour, partitions: cfg.partitions, tick: 24 * time.Hour,
			metrics: metrics, shared: shared, withoutCabinet: true,
		}, log)
		if err != nil {
			return res, err
		}
		defer stop()
		workers = append(workers, worker{c, metrics})
	}
	// The workers fold no cabinet (--role worker): an api process does,
	// so the figure still ends where the others do, at a visible cabinet.
	apiStore, err := open()
	if err != nil {
		return res, err
	}
	defer apiStore.Close()
	apiDir := filepath.Join(dir, "api")
	if err := os.MkdirAll(apiDir, 0o755); err != nil {
		return res, err
	}
	api, stopAPI, err := compareCore(ctx, apiStore, clk, coreConfig{
		data: apiDir, agencyDelay: 24 * time.Hour, partitions: cfg.partitions, tick: 24 * time.Hour,
		metrics: prometheus.NewRegistry(), withoutSagas: true,
	}, log)
	if err != nil {
		return res, err
	}
	defer stopAPI()
	// Each worker process can only tell that it is idle; the group's
	// backlog (0: everything delivered was acknowledged) is the server's.
	quiet := func() error {
		for {
			last, err := loader.LastPosition(ctx)
			if err != nil {
				return err
			}
			for _, wk := range workers {
				if err := wk.core.caughtUp(ctx); err != nil {
					return err
				}
			}
			now, err := loader.LastPosition(ctx)
			if err != nil {
				return err
			}
			if now == last && d.PersistentBacklog(sharedGroup) == 0 {
				if err := api.caughtUp(ctx); err != nil {
					return err
				}
				idle := true
				for _, wk := range workers {
					if ok, err := wk.core.router.Settled(ctx); err != nil || !ok {
						idle = false
					}
				}
				if idle {
					return nil
				}
			}
			if err := sleep(ctx, 2*time.Millisecond); err != nil {
				return err
			}
		}
	}
	// The group starts at the beginning of $all: the registrations'
	// triggers are handled before the clock starts, as the embedded core's
	// catch-up.
	if err := quiet(); err != nil {
		return res, err
	}
	handledBefore := make([]float64, n)
	for k, wk := range workers {
		handledBefore[k] = gatherCounter(wk.metrics, "lifesituations_saga_shared_triggers_handled_total")
	}
	in, err := newCompareIngest(loader, index, clk, dir, prometheus.NewRegistry(), log)
	if err != nil {
		return res, err
	}
	defer in.close()
	from, err := loader.LastPosition(ctx)
	if err != nil {
		return res, err
	}
	t := time.Now()
	if err := in.sender.post(ctx, w.burst, 500); err != nil {
		return res, err
	}
	if err := quiet(); err != nil {
		return res, err
	}
	res = compareResult{events: len(w.burst), elapsed: time.Since(t)}
	var split []string
	for k, wk := range workers {
		split = append(split, fmt.Sprintf("%.0f", gatherCounter(wk.metrics, "lifesituations_saga_shared_triggers_handled_total")-handledBefore[k]))
	}
	res.split = strings.Join(split, " / ")
	res.opened, err = compareOpened(ctx, loader, from)
	return res, err
}

// gatherCounter sums a counter's series in a registry.
func gatherCounter(reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
