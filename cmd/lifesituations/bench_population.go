package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/ingest"
	synthetic "lifesituations/adapters/population"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
	"lifesituations/sagas/calendar"
)

const benchPopulationSummary = `Runs the proactive core on a synthetic population and a simulated year of its
life events, in this process, on a fresh embedded store and a manual clock:
  1. generates --persons persons (adapters/population: age pyramid, regions and
     time zones, families, income reports) and appends their registration
     events straight to the store in big batches, shaped as ingest stores them;
  2. starts the core and waits until it has caught up with the log;
  3. simulates --days days: each day's registry events (births, deaths, moves,
     marriages) go through the HTTP ingest path, then the clock moves a day and
     the calendar and timers fire; measures life events/s end to end (registry
     event or milestone to a visible draft or grant), the calendar's day sweep
     and the time of each day;
  4. a burst: --burst events at once, to the last one visible in the cabinet;
  5. a latency phase: single events at --rate events/s for --latency, each
     timed from its 202 to its situation visible in the cabinet;
and prints the figures with their targets, the peak memory and the machine.`

type popBenchConfig struct {
	persons, days, rate, burst, partitions int
	latency                                time.Duration
	data, cpuprofile, profileFrom, start   string
	heapprofile                            string
	seed                                   uint64
}

func parsePopulationBench(args []string, stderr io.Writer) (popBenchConfig, error) {
	var cfg popBenchConfig
	fs := newFlagSet("bench population", benchPopulationSummary, stderr)
	fs.IntVar(&cfg.persons, "persons", 100_000, "persons in the population")
	fs.IntVar(&cfg.days, "days", 365, "days to simulate")
	fs.IntVar(&cfg.rate, "rate", 500, "events/s of the latency phase")
	fs.DurationVar(&cfg.latency, "latency", 10*time.Second, "how long the latency phase sends (0: skip it)")
	fs.IntVar(&cfg.burst, "burst", 10_000, "events of the burst (at most a tenth of the population; 0: skip it)")
	fs.IntVar(&cfg.partitions, "partitions", 4, "saga handlers splitting the person space, as serve --partitions")
	fs.StringVar(&cfg.data, "data", "", "fresh data directory to run in, kept after (default: a temporary directory, removed after)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to this file, from --profile-from to the end")
	fs.StringVar(&cfg.profileFrom, "profile-from", "start", "phase the CPU profile starts with: start, year, burst or latency")
	fs.StringVar(&cfg.heapprofile, "heapprofile", "", "write a profile of the live heap to this file after the last phase")
	fs.StringVar(&cfg.start, "start", "2026-01-01", "first simulated day")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the population")
	if err := parseWithEnv(fs, args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("bench population: unexpected argument %q", fs.Arg(0))
	case cfg.persons < 100:
		return cfg, errors.New("bench population: --persons must be at least 100")
	case cfg.days < 0 || cfg.rate < 1 || cfg.latency < 0 || cfg.burst < 0 || cfg.partitions < 1:
		return cfg, errors.New("bench population: --days, --latency and --burst must not be negative, --rate and --partitions at least 1")
	}
	if !slices.Contains([]string{"start", "year", "burst", "latency"}, cfg.profileFrom) {
		return cfg, fmt.Errorf("bench population: --profile-from must be start, year, burst or latency, not %q", cfg.profileFrom)
	}
	if _, err := time.Parse(time.DateOnly, cfg.start); err != nil {
		return cfg, fmt.Errorf("bench population: --start: %w", err)
	}
	cfg.burst = min(cfg.burst, cfg.persons/10)
	return cfg, nil
}

func benchPopulation(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parsePopulationBench(args, stderr)
	if err != nil {
		return err
	}
	if cfg.data == "" {
		d, err := os.MkdirTemp("", "lifesituations-bench-population-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		cfg.data = d
	} else if err := popFreshDir(cfg.data); err != nil {
		return err
	}
	b := &popBench{cfg: cfg, out: stdout, progress: stderr}
	defer func() {
		if cerr := b.close(); err == nil {
			err = cerr
		}
	}()
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		defer b.stopProfile()
	}
	return b.run(ctx)
}

// profile starts the CPU profile when phase is the one it starts with.
func (b *popBench) profile(phase string) error {
	if b.cfg.cpuprofile == "" || phase != b.cfg.profileFrom {
		return nil
	}
	f, err := os.OpenFile(b.cfg.cpuprofile, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	b.profiling = f
	return nil
}

// writeHeapProfile writes what the heap holds after the last phase, once
// collected: what every collection of the core has to mark.
func (b *popBench) writeHeapProfile() error {
	if b.cfg.heapprofile == "" {
		return nil
	}
	runtime.GC()
	f, err := os.Create(b.cfg.heapprofile)
	if err != nil {
		return fmt.Errorf("bench population: --heapprofile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("bench population: --heapprofile: %w", err)
	}
	return f.Close()
}

func (b *popBench) stopProfile() {
	if b.profiling != nil {
		pprof.StopCPUProfile()
		b.profiling.Close()
		b.profiling = nil
	}
}

// popFreshDir creates dir or checks that it is empty: the bench needs a fresh store.
func popFreshDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("bench population: --data %s is not empty: the bench needs a fresh store", dir)
	}
	return nil
}

// popBench is one run of the population bench.
type popBench struct {
	cfg      popBenchConfig
	out      io.Writer
	progress io.Writer
	start    time.Time // noon UTC of the first simulated day

	pop    *synthetic.Population
	clock  *clock.Manual
	store  eventstore.Store // sealed, as the server's
	index  *register.Index
	core   *core
	stop   func() error
	srv    *httptest.Server
	client *http.Client
	tokens map[string]string
	dev    *auth.Dev

	// early counts the milestones fired during the catch-up, by date: at
	// the first day's noon UTC the easternmost zones are past midnight.
	early map[string]int

	metrics   *prometheus.Registry
	profiling *os.File
	memory    []string // peak memory after each phase
	anonPeak  atomic.Uint64
	goPeak    atomic.Uint64
}

func (b *popBench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "bench population: "+format+"\n", args...)
}

func (b *popBench) close() error {
	var errs []error
	if b.srv != nil {
		b.srv.Close()
	}
	if b.stop != nil {
		errs = append(errs, b.stop())
	}
	if b.core != nil {
		errs = append(errs, b.core.close())
	}
	if b.store != nil {
		errs = append(errs, b.store.Close())
	}
	return errors.Join(errs...)
}

func (b *popBench) run(ctx context.Context) error {
	day, _ := time.Parse(time.DateOnly, b.cfg.start)
	b.start = day.Add(12 * time.Hour)
	fmt.Fprintf(b.out, "lifesituations bench population --persons %d --days %d --rate %d --latency %s --burst %d (seed %d, from %s)\n",
		b.cfg.persons, b.cfg.days, b.cfg.rate, b.cfg.latency, b.cfg.burst, b.cfg.seed, b.cfg.start)
	fmt.Fprintf(b.out, "machine: %s; load average at the start %s\n", popMachine(), popLoad())
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go b.sampleMemory(sampling)

	if err := b.profile("start"); err != nil {
		return err
	}
	if err := b.generate(); err != nil {
		return err
	}
	if err := b.load(ctx); err != nil {
		return err
	}
	if err := b.catchUp(ctx); err != nil {
		return err
	}
	if err := b.serveHTTP(); err != nil {
		return err
	}
	if err := b.profile("year"); err != nil {
		return err
	}
	if err := b.year(ctx); err != nil {
		return err
	}
	if err := b.profile("burst"); err != nil {
		return err
	}
	if b.cfg.burst > 0 {
		if err := b.burstPhase(ctx); err != nil {
			return err
		}
	}
	if err := b.profile("latency"); err != nil {
		return err
	}
	if b.cfg.latency > 0 {
		if err := b.latencyPhase(ctx); err != nil {
			return err
		}
	}
	if err := b.writeHeapProfile(); err != nil {
		return err
	}
	if err := b.checkCabinets(ctx); err != nil {
		return err
	}
	b.report()
	return nil
}

// generate makes the population.
func (b *popBench) generate() error {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t := time.Now()
	pop, err := synthetic.New(synthetic.Config{Persons: b.cfg.persons, Seed: b.cfg.seed, Start: b.start})
	if err != nil {
		return err
	}
	elapsed := time.Since(t)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.pop = pop
	fmt.Fprintf(b.out, "population: %s; generated in %s (its state: %s of heap)\n",
		pop.Summary(), elapsed.Round(time.Millisecond), popMiB(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)))
	return nil
}

// load appends the population's registration events straight to a fresh
// store, in big batches, as ingest would have stored them, and folds them
// into the index of known persons that ingest validates against.
func (b *popBench) load(ctx context.Context) error {
	b.clock = clock.NewManual(b.start)
	raw, err := embedded.Open(b.cfg.data, embedded.WithClock(b.clock))
	if err != nil {
		return fmt.Errorf("open the embedded store in %s: %w", b.cfg.data, err)
	}
	store, err := sealStore(raw, b.cfg.data)
	if err != nil {
		return err
	}
	b.store = store
	b.index = register.NewIndex()

	const batch = embedded.DefaultMaxBatch
	batches := make(chan []eventstore.StreamAppend, 2)
	produced := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Building the events and the index goes on while the store commits.
	go func() {
		defer close(batches)
		var events []synthetic.Event
		flush := func() bool {
			appends := synthetic.Appends(events)
			for _, a := range appends {
				for _, e := range a.Events {
					if err := b.index.Apply(eventstore.RecordedEvent{Event: e, Stream: a.Stream}); err != nil {
						produced <- err
						return false
					}
				}
			}
			events = events[:0]
			select {
			case batches <- appends:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for e := range b.pop.Initial() {
			if events = append(events, e); len(events) == batch && !flush() {
				return
			}
		}
		if len(events) > 0 {
			flush()
		}
		produced <- nil
	}()
	t := time.Now()
	n := 0
	for appends := range batches {
		if _, err := store.AppendMany(ctx, appends); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		for _, a := range appends {
			n += len(a.Events)
		}
	}
	if err := <-produced; err != nil {
		return fmt.Errorf("load: %w", err)
	}
	elapsed := time.Since(t)
	fmt.Fprintf(b.out, "load: %d registration events (person.registered, birth.registered, income.reported) appended in batches of %d straight to the embedded store in %s: %.0f events/s\n",
		n, batch, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	b.mark("load")
	return nil
}

// catchUp starts the core on the loaded log and waits until it has caught up.
func (b *popBench) catchUp(ctx context.Context) error {
	loaded, err := b.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(b.progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.metrics = prometheus.NewRegistry()
	c, err := openCore(b.store, b.clock, coreConfig{
		data: b.cfg.data, agencyDelay: 24 * time.Hour, partitions: b.cfg.partitions,
		// The bench moves the clock and settles itself: no periodic tick.
		tick: 24 * time.Hour, metrics: b.metrics,
	}, log)
	if err != nil {
		return err
	}
	b.core = c
	coreCtx, stopCore := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	ready := make(chan struct{})
	t := time.Now()
	go func() { done <- c.run(coreCtx, func() { close(ready) }) }()
	b.stop = func() error {
		stopCore()
		return <-done
	}
	b.logf("catching up with %d events", loaded)
	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
wait:
	for {
		select {
		case <-ready:
			break wait
		case err := <-done:
			b.stop = nil
			return fmt.Errorf("core: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-progress.C:
			b.logf("catching up, after %s: %s", time.Since(t).Round(time.Second), b.positions(ctx))
		}
	}
	elapsed := time.Since(t)
	counts, last, err := b.countSince(ctx, loaded)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "catch-up: the core (register, cabinet, %d saga partitions, calendar, timers) folded the %d loaded events and caught up in %s: %.0f loaded events/s;\n",
		b.cfg.partitions, loaded, elapsed.Round(time.Millisecond), float64(loaded)/elapsed.Seconds())
	fmt.Fprintf(b.out, "  meanwhile it fired %d milestones of the last 90 days and opened %s, appending %d events\n",
		counts.types[calendar.TypeAgeReached], counts.situations(), last-loaded)
	b.early = counts.reached
	b.mark("catch-up")
	return nil
}

// serveHTTP serves ingest and the citizen API as serve does, on loopback,
// with development tokens that outlive the simulated time.
func (b *popBench) serveHTTP() error {
	log := slog.New(slog.NewTextHandler(b.progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	metrics := b.metrics
	ingestMetrics, err := ingest.NewMetrics(metrics)
	if err != nil {
		return err
	}
	ingestHandler, err := ingest.NewHandler(ingest.Config{
		Store: b.store, Register: b.index, Clock: b.clock, Logger: log, Metrics: ingestMetrics, MaxInFlight: 256,
	})
	if err != nil {
		return err
	}
	if b.dev, err = auth.NewDev(b.cfg.data, b.clock, auth.WithLifetime(100*365*24*time.Hour)); err != nil {
		return err
	}
	b.srv = httptest.NewServer(httpapi.NewHandler(httpapi.Config{
		Dev: true, Tokens: b.dev, Auth: b.dev, Logger: log,
		Ready:   func() error { return nil },
		Metrics: promhttp.HandlerFor(metrics, promhttp.HandlerOpts{Registry: metrics}),
		Routes: append([]httpapi.Route{
			{Pattern: "POST " + ingest.Path, Roles: []auth.Role{auth.RoleRegistry}, Handler: ingestHandler},
		}, citizenapi.New(b.core.cabinet, b.core.service, log).Routes()...),
	}))
	b.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: time.Minute}
	b.tokens = map[string]string{}
	for _, source := range []string{lifeevent.SourcePopulation, lifeevent.SourceCivilStatus, lifeevent.SourceResidence, lifeevent.SourceTax} {
		if b.tokens[source], err = b.dev.Issue(auth.Principal{Role: auth.RoleRegistry, Subject: source}); err != nil {
			return err
		}
	}
	return nil
}

// positions tells how far each part of the core has got in the log.
func (b *popBench) positions(ctx context.Context) string {
	last, _ := b.store.LastPosition(ctx)
	sagas := "?"
	if families, err := b.metrics.Gather(); err == nil {
		for _, f := range families {
			if f.GetName() == "lifesituations_saga_lag_events" && len(f.GetMetric()) > 0 {
				sagas = strconv.FormatUint(last-min(last, uint64(f.GetMetric()[0].GetGauge().GetValue())), 10)
			}
		}
	}
	return fmt.Sprintf("log at %d; register at %d, cabinet at %d, sagas at %s", last, b.core.register.Position(), b.core.cabinet.Position(), sagas)
}

// popDayStats is what one simulated day measured.
type popDayStats struct {
	events  int           // registry events sent
	visible time.Duration // from the first request to the day's events visible in the cabinet
	sweep   time.Duration // calendar.Tick at the next midnight
	total   time.Duration // the whole day: requests, processing, midnight, settle
}

// year simulates the days.
func (b *popBench) year(ctx context.Context) error {
	from, err := b.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	days := make([]popDayStats, 0, b.cfg.days)
	registry := 0
	for i := range b.cfg.days {
		date := b.start.AddDate(0, 0, i)
		events, err := b.pop.Day(date)
		if err != nil {
			return err
		}
		var s popDayStats
		s.events = len(events)
		registry += len(events)
		t := time.Now()
		if err := b.post(ctx, events, ingest.MaxBatch); err != nil {
			return fmt.Errorf("day %s: %w", date.Format(time.DateOnly), err)
		}
		if err := b.core.caughtUp(ctx); err != nil {
			return err
		}
		s.visible = time.Since(t)
		// Midnight: the next day's birthdays fire (the sweep, timed on its
		// own), then the timers, until everything due is visible.
		if err := b.clock.Set(date.AddDate(0, 0, 1)); err != nil {
			return err
		}
		sweep := time.Now()
		if err := b.core.calendar.Tick(ctx); err != nil {
			return err
		}
		s.sweep = time.Since(sweep)
		if err := b.core.settle(ctx); err != nil {
			return err
		}
		s.total = time.Since(t)
		days = append(days, s)
		if (i+1)%30 == 0 || i+1 == b.cfg.days {
			b.logf("day %d/%d: %d registry events, %s", i+1, b.cfg.days, s.events, s.total.Round(time.Millisecond))
		}
	}
	counts, _, err := b.countSince(ctx, from)
	if err != nil {
		return err
	}
	milestones := counts.types[calendar.TypeAgeReached]
	life := registry + milestones
	var busy time.Duration
	var visible, sweeps, totals []time.Duration
	for _, d := range days {
		busy += d.total
		visible = append(visible, d.visible)
		sweeps = append(sweeps, d.sweep)
		totals = append(totals, d.total)
	}
	first, end := b.start.AddDate(0, 0, 1), b.start.AddDate(0, 0, b.cfg.days)
	foretold := fmt.Sprint(b.pop.Milestones(first, end, calendar.DefaultAges))
	early, lo, hi := 0, first.Format(time.DateOnly), end.Format(time.DateOnly)
	for date, n := range b.early {
		if date >= lo && date <= hi {
			early += n
		}
	}
	if early > 0 {
		foretold += fmt.Sprintf(", %d of them reached past midnight in the easternmost zones and fired during the catch-up", early)
	}
	fmt.Fprintf(b.out, "year: %d simulated days: %d life events: %s and %d age.reached from the calendar (the population foretold %s);\n",
		b.cfg.days, life, counts.lifeEvents(), milestones, foretold)
	fmt.Fprintf(b.out, "  they opened %s; steps: %s\n", counts.situations(), counts.steps())
	if len(days) > 0 {
		rate := float64(life) / busy.Seconds()
		fmt.Fprintf(b.out, "  end to end: %d life events in %s of simulated days: %.0f life events/s (target >= 5000) %s\n",
			life, busy.Round(time.Millisecond), rate, popVerdict(rate >= 5000))
		fmt.Fprintf(b.out, "  a day (its requests, until all visible, midnight, timers): %s; its registry events visible in the cabinet after %s\n",
			popPercentiles(totals), popPercentiles(visible))
		fmt.Fprintf(b.out, "  calendar day sweep over the birthday index: %s (target < 50ms) %s\n",
			popPercentiles(sweeps), popVerdict(slices.Max(sweeps) < 50*time.Millisecond))
	}
	b.mark("year")
	return nil
}

// post sends events through HTTP ingest, in batches of at most size, each
// from its registry, in order.
func (b *popBench) post(ctx context.Context, events []synthetic.Event, size int) error {
	for len(events) > 0 {
		n := 1
		for n < len(events) && n < size && events[n].Source == events[0].Source {
			n++
		}
		body, err := synthetic.Batch(events[:n])
		if err != nil {
			return err
		}
		if _, err := b.send(ctx, events[0].Source, body, synthetic.ContentTypeBatch); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// send posts one request and waits for its 202, retrying after a 429 or 503.
func (b *popBench) send(ctx context.Context, source string, body []byte, contentType string) (time.Time, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL+ingest.Path, bytes.NewReader(body))
		if err != nil {
			return time.Time{}, err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+b.tokens[source])
		resp, err := b.client.Do(req)
		if err != nil {
			return time.Time{}, err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		at := time.Now()
		switch resp.StatusCode {
		case http.StatusAccepted:
			return at, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if err := sleep(ctx, 10*time.Millisecond); err != nil {
				return time.Time{}, err
			}
		default:
			return time.Time{}, fmt.Errorf("POST %s answered %d: %s", ingest.Path, resp.StatusCode, msg)
		}
	}
}

// burstPhase sends a burst of life events as fast as ingest takes them and
// times them until the last is visible in the cabinet.
func (b *popBench) burstPhase(ctx context.Context) error {
	events := b.pop.Events(b.cfg.burst)
	// Each registry sends its own: the events of one burst never depend on
	// each other, so their order across registries does not matter.
	slices.SortStableFunc(events, func(x, y synthetic.Event) int { return strings.Compare(x.Source, y.Source) })
	from, err := b.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	was := behindNow(b.store, b.core.fileModels())
	t := time.Now()
	if err := b.post(ctx, events, 500); err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	accepted := time.Since(t)
	if err := b.core.caughtUp(ctx); err != nil {
		return err
	}
	elapsed := time.Since(t)
	now := behindNow(b.store, b.core.fileModels())
	work, cpu := now.since(was), now.cpuPer(was, len(events), "life event", elapsed)
	counts, _, err := b.countSince(ctx, from)
	if err != nil {
		return err
	}
	rate := float64(len(events)) / elapsed.Seconds()
	fmt.Fprintf(b.out, "burst: %d life events (%s) sent in batches of 500, accepted in %s, all visible in the cabinet after %s: %.0f life events/s end to end (target >= 5000) %s;\n",
		len(events), counts.lifeEvents(), accepted.Round(time.Millisecond), elapsed.Round(time.Millisecond), rate, popVerdict(rate >= 5000))
	fmt.Fprintf(b.out, "  they opened %s; steps: %s;\n  %s;\n  behind it, until the last was visible: %s\n", counts.situations(), counts.steps(), cpu, work)
	b.mark("burst")
	return nil
}

// latencyPhase sends single events at a steady rate and times each from
// its 202 until its situation is visible in the cabinet. A subscription to
// the log tells at which position each situation was opened; the situation
// is visible once the cabinet has folded that position (the cabinet moves
// its position only after committing). Watching costs the core nothing.
func (b *popBench) latencyPhase(ctx context.Context) error {
	n := int(float64(b.cfg.rate) * b.cfg.latency.Seconds())
	events := b.pop.Events(n)
	bodies := make([][]byte, n)
	index := make(map[uuid.UUID]int, n) // situation -> event
	for i, e := range events {
		var err error
		if bodies[i], err = e.MarshalJSON(); err != nil {
			return err
		}
		index[situation.ID(popSituationOf(e.Type), e.StoredID())] = i
	}
	from, err := b.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	accepted := make([]time.Time, n) // the 202
	decided := make([]time.Time, n)  // its situation.opened seen in the log
	visible := make([]time.Time, n)  // in the cabinet
	requests := make([]time.Duration, n)
	var (
		mu       sync.Mutex
		failures []error
		seen     atomic.Int64
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type opened struct {
		event int
		pos   eventstore.Position
		at    time.Time
	}
	openings := make(chan opened, n)
	go func() {
		filter := eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}, TypePrefixes: []string{situation.TypeOpened}}
		_ = b.store.SubscribeAll(ctx, from, filter, func(e eventstore.RecordedEvent) error {
			var o struct {
				ID uuid.UUID `json:"situation_id"`
			}
			if err := json.Unmarshal(e.Data, &o); err != nil {
				return err
			}
			if k, ok := index[o.ID]; ok {
				openings <- opened{k, e.Position, time.Now()}
			}
			return nil
		})
	}()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		var waiting []opened // opened, not yet folded by the cabinet
		for seen.Load() < int64(n) && ctx.Err() == nil {
			select {
			case o := <-openings:
				waiting = append(waiting, o)
			case <-tick.C:
			}
			pos, now := b.core.cabinet.Position(), time.Now()
			waiting = slices.DeleteFunc(waiting, func(o opened) bool {
				if o.pos > pos {
					return false
				}
				visible[o.event], decided[o.event] = now, o.at
				seen.Add(1)
				return true
			})
		}
	}()

	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				sent := time.Now()
				at, err := b.send(ctx, events[k].Source, bodies[k], synthetic.ContentTypeEvent)
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					continue
				}
				accepted[k], requests[k] = at, at.Sub(sent)
			}
		}()
	}
	interval := time.Second / time.Duration(b.cfg.rate)
	was := behindNow(b.store, b.core.fileModels())
	t := time.Now()
	for k := range n {
		if d := time.Until(t.Add(time.Duration(k) * interval)); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(t)
	select {
	case <-watched:
	case <-time.After(2 * time.Minute):
		cancel()
		<-watched
	}
	now := behindNow(b.store, b.core.fileModels())
	work, cpu := now.since(was), now.cpuPer(was, n, "life event", time.Since(t))
	cancel()
	if len(failures) > 0 {
		return fmt.Errorf("latency phase: %d requests failed, the first: %w", len(failures), failures[0])
	}
	// Where the time goes: the sagas (the register's fold of the trigger,
	// the decision, its append) and then the cabinet's fold.
	var latency, deciding, folding []time.Duration
	for k := range n {
		if !visible[k].IsZero() {
			latency = append(latency, max(visible[k].Sub(accepted[k]), 0))
			deciding = append(deciding, max(decided[k].Sub(accepted[k]), 0))
			folding = append(folding, max(visible[k].Sub(decided[k]), 0))
		}
	}
	kinds := map[lifeevent.Type]int{}
	for _, e := range events {
		kinds[e.Type]++
	}
	fmt.Fprintf(b.out, "latency: %d single-event requests (%s) paced at %d events/s by 64 clients, sent in %s (%.0f/s); request to 202: %s;\n",
		n, popTypeCounts(kinds), b.cfg.rate, sendTime.Round(time.Millisecond), float64(n)/sendTime.Seconds(), popPercentiles(requests))
	sorted := slices.Clone(latency)
	slices.Sort(sorted)
	p99 := popPercentile(sorted, 0.99)
	fmt.Fprintf(b.out, "  202 to the situation visible in the cabinet: %s (target p99 < 100ms) %s",
		popPercentiles(latency), popVerdict(len(latency) == n && p99 < 100*time.Millisecond))
	if missing := n - len(latency); missing > 0 {
		fmt.Fprintf(b.out, "; %d never visible within two minutes", missing)
	}
	fmt.Fprintf(b.out, ";\n  of which 202 to its situation.opened in the log %s, and from there to the cabinet %s;\n",
		popPercentiles(deciding), popPercentiles(folding))
	// The slow requests of the tail come while this work runs, each piece
	// of it taking a core of two (docs/performance.md).
	fmt.Fprintf(b.out, "  %s;\n  behind it, from the first request to the last visible: %s\n", cpu, work)
	b.mark("latency")
	return nil
}

// popSituationOf is the situation a registry event opens (default catalogue).
func popSituationOf(t lifeevent.Type) string {
	switch t {
	case lifeevent.BirthRegistered:
		return "birth-of-child"
	case lifeevent.DeathRegistered:
		return "bereavement"
	case lifeevent.ResidenceChanged:
		return "move"
	case lifeevent.MarriageRegistered:
		return "marriage"
	}
	return ""
}

// checkCabinets looks at the cabinets of a sample of the simulated year's
// situations: each must be in its applicant's cabinet with a draft or a
// grant, and the citizen API must show it.
func (b *popBench) checkCabinets(ctx context.Context) error {
	last, err := b.store.LastPosition(ctx)
	if err != nil {
		return err
	}
	perKind := map[string]int{}
	var checked, drafts, grants int
	var sample struct {
		person string
		id     uuid.UUID
	}
	filter := eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}, TypePrefixes: []string{situation.TypeOpened}}
	err = popReadLog(ctx, b.store, 0, last, filter, func(e eventstore.RecordedEvent) (bool, error) {
		var o situation.Opened
		if err := json.Unmarshal(e.Data, &o); err != nil {
			return false, err
		}
		if perKind[o.Kind] >= 5 {
			return true, nil
		}
		s, err := b.core.cabinet.SituationFor(o.PersonID, o.SituationID)
		if err != nil {
			return false, fmt.Errorf("cabinet check: situation %s (%s) of %s: %w", o.SituationID, o.Kind, o.PersonID, err)
		}
		for _, st := range s.Steps {
			if st.DraftID != uuid.Nil {
				if _, err := b.core.cabinet.DraftFor(st.Applicant, st.DraftID); err != nil {
					return false, fmt.Errorf("cabinet check: draft %s of situation %s: %w", st.DraftID, s.ID, err)
				}
				drafts++
			}
			if st.GrantID != uuid.Nil {
				if _, err := b.core.cabinet.GrantFor(st.Applicant, st.GrantID); err != nil {
					return false, fmt.Errorf("cabinet check: grant %s of situation %s: %w", st.GrantID, s.ID, err)
				}
				grants++
			}
		}
		if o.Kind == "birth-of-child" && sample.person == "" {
			sample.person, sample.id = o.PersonID, o.SituationID
		}
		perKind[o.Kind]++
		checked++
		return true, nil
	})
	if err != nil {
		return err
	}
	if checked == 0 || drafts+grants == 0 {
		return fmt.Errorf("cabinet check: no situation with a draft or grant in any cabinet")
	}
	line := fmt.Sprintf("cabinets: %d situations (%s) each in its applicant's cabinet, with %d drafts and %d grants", checked, popKindCounts(perKind), drafts, grants)
	if sample.person != "" {
		n, err := b.citizenSituations(ctx, sample.person, sample.id)
		if err != nil {
			return err
		}
		line += fmt.Sprintf("; GET /v1/me/situations of mother %s shows her birth-of-child among %d situations", sample.person, n)
	}
	fmt.Fprintln(b.out, line)
	return nil
}

// citizenSituations asks the citizen API for a person's situations and
// checks that want is among them.
func (b *popBench) citizenSituations(ctx context.Context, person string, want uuid.UUID) (int, error) {
	token, err := b.dev.Issue(auth.Principal{Role: auth.RoleCitizen, Subject: person})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+"/v1/me/situations", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Items []struct {
			ID    uuid.UUID         `json:"id"`
			Steps []json.RawMessage `json:"steps"`
		} `json:"items"`
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("cabinet check: GET /v1/me/situations answered %d: %s", resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	for _, s := range body.Items {
		if s.ID == want && len(s.Steps) > 0 {
			return len(body.Items), nil
		}
	}
	return 0, fmt.Errorf("cabinet check: GET /v1/me/situations of %s does not show situation %s", person, want)
}

// sampleMemory keeps the peaks of the process's anonymous memory (its
// heap and stacks, without the mapped files of the store and the read
// models) and of the Go runtime's, until ctx is done.
func (b *popBench) sampleMemory(ctx context.Context) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if anon := popStatus("RssAnon"); anon > b.anonPeak.Load() {
			b.anonPeak.Store(anon)
		}
		metrics.Read(samples)
		if v := samples[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() > b.goPeak.Load() {
			b.goPeak.Store(v.Uint64())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mark notes the peak memory so far after a phase.
func (b *popBench) mark(phase string) {
	b.memory = append(b.memory, fmt.Sprintf("%s %s (anonymous %s)", phase, popMiB(popStatus("VmHWM")), popMiB(b.anonPeak.Load())))
}

func (b *popBench) report() {
	fmt.Fprintf(b.out, "memory: peak RSS (VmHWM) %s, mapped files included (the bolt read models and the store); peak anonymous memory (RssAnon, sampled every 100ms) %s; Go runtime peak %s;\n",
		popMiB(popStatus("VmHWM")), popMiB(b.anonPeak.Load()), popMiB(b.goPeak.Load()))
	fmt.Fprintf(b.out, "  peak RSS after each phase: %s\n", strings.Join(b.memory, ", "))
	fmt.Fprintf(b.out, "disk: %s in %s\n", popDirSizes(b.cfg.data), b.cfg.data)
	fmt.Fprintf(b.out, "load average at the end %s (other work on the machine counts in it)\n", popLoad())
}

// popLogCounts counts the events of a stretch of the log.
type popLogCounts struct {
	types    map[string]int
	kinds    map[string]int // situations opened, by kind
	outcomes map[string]int // steps decided, by outcome
	reached  map[string]int // age.reached, by the date reached
}

// countSince counts what the log holds after from, up to its last
// position now, which it returns.
func (b *popBench) countSince(ctx context.Context, from eventstore.Position) (popLogCounts, eventstore.Position, error) {
	last, err := b.store.LastPosition(ctx)
	if err != nil {
		return popLogCounts{}, 0, err
	}
	counts, err := popCountLog(ctx, b.store, from, last)
	return counts, last, err
}

func popCountLog(ctx context.Context, store eventstore.Store, after, upTo eventstore.Position) (popLogCounts, error) {
	c := popLogCounts{types: map[string]int{}, kinds: map[string]int{}, outcomes: map[string]int{}, reached: map[string]int{}}
	err := popReadLog(ctx, store, after, upTo, eventstore.Filter{}, func(e eventstore.RecordedEvent) (bool, error) {
		c.types[e.Type]++
		switch e.Type {
		case calendar.TypeAgeReached:
			var a calendar.AgeReached
			if err := json.Unmarshal(e.Data, &a); err != nil {
				return false, err
			}
			c.reached[a.Date]++
		case situation.TypeOpened:
			var o struct {
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal(e.Data, &o); err != nil {
				return false, err
			}
			c.kinds[o.Kind]++
		case situation.TypeStepDecided:
			var d struct {
				Decision struct {
					Outcome string `json:"outcome"`
				} `json:"decision"`
			}
			if err := json.Unmarshal(e.Data, &d); err != nil {
				return false, err
			}
			c.outcomes[d.Decision.Outcome]++
		}
		return true, nil
	})
	return c, err
}

// popReadLog calls fn for each event in (after, upTo] that passes filter,
// until fn says stop.
func popReadLog(ctx context.Context, store eventstore.Store, after, upTo eventstore.Position, filter eventstore.Filter, fn func(eventstore.RecordedEvent) (bool, error)) error {
	const page = 5000
	for after < upTo {
		events, err := store.ReadAll(ctx, after, filter, page)
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.Position > upTo {
				return nil
			}
			more, err := fn(e)
			if err != nil || !more {
				return err
			}
			after = e.Position
		}
		if len(events) < page {
			return nil
		}
	}
	return nil
}

func (c popLogCounts) lifeEvents() string {
	m := map[lifeevent.Type]int{}
	for _, t := range lifeevent.Types() {
		if n := c.types[string(t)]; n > 0 {
			m[t] = n
		}
	}
	return popTypeCounts(m)
}

func (c popLogCounts) situations() string {
	n := 0
	for _, v := range c.kinds {
		n += v
	}
	return fmt.Sprintf("%d situations (%s)", n, popKindCounts(c.kinds))
}

func (c popLogCounts) steps() string { return popKindCounts(c.outcomes) }

func popTypeCounts(m map[lifeevent.Type]int) string {
	s := map[string]int{}
	for k, v := range m {
		s[string(k)] = v
	}
	return popKindCounts(s)
}

// popKindCounts lists counts, largest first.
func popKindCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func popPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1)+0.5)]
}

// popPercentiles is "p50 x p99 y max z" of unsorted durations.
func popPercentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration {
		if d < 10*time.Millisecond {
			return d.Round(10 * time.Microsecond)
		}
		return d.Round(time.Millisecond)
	}
	return fmt.Sprintf("p50 %s p99 %s max %s", r(popPercentile(s, 0.5)), r(popPercentile(s, 0.99)), r(s[len(s)-1]))
}

func popVerdict(ok bool) string {
	if ok {
		return "[met]"
	}
	return "[NOT met]"
}

func popMiB(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// popStatus reads a size from /proc/self/status (VmHWM, RssAnon...) in
// bytes; 0 where there is no /proc.
func popStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// popLoad is the 1, 5 and 15 minute load averages.
func popLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// popMachine names the CPUs the figures were taken on.
func popMachine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("nproc %d, GOMAXPROCS %d, GOGC %d, %s, %s %s/%s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), gcPercent(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// popDirSizes is the size of the store and of each read model's file.
func popDirSizes(dir string) string {
	sizes := map[string]int64{}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		name := filepath.Base(path)
		switch name {
		case registerFile, cabinetFile, checkpointsFile:
		default:
			name = "event store"
		}
		sizes[name] += info.Size()
		return nil
	})
	parts := []string{}
	for _, name := range []string{"event store", registerFile, cabinetFile, checkpointsFile} {
		parts = append(parts, fmt.Sprintf("%s %s", name, popMiB(uint64(sizes[name]))))
	}
	return strings.Join(parts, ", ")
}
