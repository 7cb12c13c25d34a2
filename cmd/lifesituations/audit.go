package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/sagas/audit"
)

const auditUsage = `Usage:
  lifesituations audit verify [flags]   replay the whole log and recompute every decision

Run "lifesituations audit verify --help" for the flags.
`

// auditCmd holds the auditors' tools.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "audit", auditUsage, map[string]subcommand{"verify": auditVerify}, args, stdout, stderr)
}

const auditVerifySummary = `Replays the whole log into a fresh register (in memory with the persons'
keys, or in a file under --scratch, the keys then looked up one by one, when
the persons' facts would not fit) and
recomputes every decision the sagas recorded with the catalogue version it
recorded and the register as of the position it recorded: each situation's
opening and steps, the follow-ups of a confirmed draft, the notice of a missed
deadline. Reports every divergence (which decision, what was recorded, what the
replay gives), every decision whose catalogue version was not supplied
(unverifiable, not a divergence) and every break in the log's integrity, and
exits non-zero if there is a divergence or a break.

With --store esdb://... it verifies the log of an EventStoreDB server (while
the servers keep running; the log up to its last position at the start). The
hash chain is the embedded store's own: on EventStoreDB the report says it was
not checked (the server's chunks carry checksums of their own).

The embedded store is opened by one process at a time: stop the server first
(the command waits --lock-wait for it, then gives up). It opens the log and
the key store read only: it writes nothing to either, not even Pebble's own
tidying.
Decisions taken with an older catalogue verify against that version when its
directory is given with --catalogue (repeat the flag for several versions);
the embedded catalogue is always supplied.`

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", auditVerifySummary, stderr)
	offline := offlineStoreFlags(fs)
	store := fs.String("store", "embedded", "event store: embedded (the data directory), or an EventStoreDB URL (esdb://...)")
	var dirs stringList
	fs.Var(&dirs, "catalogue", "directory of an older catalogue version to verify its decisions with (repeatable)")
	scratch := fs.String("scratch", "", "directory for the replay's fresh register file (default: the register is folded in memory)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	everyFact := fs.Bool("every-fact", false, "fold every registry fact into the fresh register, also those of persons no decision reads (slower)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the verification to this file")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit verify: unexpected argument %q", fs.Arg(0))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cats, err := auditCatalogues(dirs)
	if err != nil {
		return err
	}
	cfg := audit.Config{Catalogues: cats, Scratch: *scratch, EveryFact: *everyFact}
	if *store == "embedded" {
		s, err := offline.read()
		if err != nil {
			return err
		}
		defer s.Close()
		cfg.Store, cfg.Integrity = s, chainScan(s.Raw)
	} else {
		// EventStoreDB keeps no hash chain of ours (its own chunks carry
		// checksums): the report says the chain was not checked.
		octx, cancel := context.WithTimeout(ctx, esdbOpenTimeout)
		defer cancel()
		es, err := esdb.Open(octx, *store, esdb.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		if err != nil {
			return fmt.Errorf("audit verify: connect to EventStoreDB: %w", err)
		}
		s := sealESDB(es)
		defer s.Close()
		cfg.Store = s
	}

	last, err := cfg.Store.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	tuneVerify(uint64(last))
	if gcPercent() < 0 {
		fmt.Fprintf(stderr, "collector: collects when the heap reaches %s (set by the log's length; GOGC or GOMEMLIMIT overrides)\n",
			popMiB(uint64(debug.SetMemoryLimit(-1))))
	}
	progress := newProgress(stderr)
	cfg.Progress = progress.update
	rep, err := audit.Verify(ctx, cfg)
	progress.done()
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if hwm := popStatus("VmHWM"); hwm > 0 {
		fmt.Fprintf(stderr, "peak memory (VmHWM, mapped files included): %s\n", popMiB(hwm))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(stdout)
	}
	if !rep.OK() {
		return fmt.Errorf("audit verify: %d divergence(s), %d break(s) in the log's integrity", len(rep.Divergences), len(rep.Integrity))
	}
	return nil
}

// auditCatalogues loads the embedded catalogue and the directories given.
func auditCatalogues(dirs []string) ([]*catalogue.Catalogue, error) {
	def, err := catalogue.Default()
	if err != nil {
		return nil, fmt.Errorf("embedded catalogue: %w", err)
	}
	cats := []*catalogue.Catalogue{def}
	for _, d := range dirs {
		c, err := loadCatalogueDir(d)
		if err != nil {
			return nil, fmt.Errorf("--catalogue %s: %w", d, err)
		}
		cats = append(cats, c)
	}
	return cats, nil
}

// chainScan is the check of the log's hash chain and of the store's
// indexes against the log (embedded.Store.ScanVerifying): an edited,
// removed, reordered or inserted record, located. It reads the log for the
// verification's plan too: one read of the log for both.
func chainScan(s *embedded.Store) func(context.Context, eventstore.Position, eventstore.Filter,
	func(*eventstore.RecordedEvent) error, func(done, total uint64)) (func() ([]audit.IntegrityBreak, error), error) {
	return func(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter,
		fn func(*eventstore.RecordedEvent) error, progress func(done, total uint64)) (func() ([]audit.IntegrityBreak, error), error) {
		wait, err := s.ScanVerifying(ctx, upTo, filter, fn, progress)
		if err != nil {
			return nil, err
		}
		return func() ([]audit.IntegrityBreak, error) {
			breaks, err := wait()
			out := make([]audit.IntegrityBreak, len(breaks))
			for i, b := range breaks {
				out[i] = audit.IntegrityBreak{Position: b.Position, Detail: b.Kind + ": " + b.Detail}
			}
			return out, err
		}, nil
	}
}

// progress shows how far each phase has got: a bar redrawn in place with
// the rate and the time left on a terminal, a plain line every few seconds
// otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	every    time.Duration

	mu         sync.Mutex
	phase      string
	started    time.Time
	lastShown  time.Time
	lastDone   uint64
	lastTotal  uint64
	drawnWidth int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, every: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal, p.every = true, 200*time.Millisecond
	}
	return p
}

var phaseNames = map[string]string{"chain": "hash chain", "plan": "reading decisions", "replay": "replaying"}

func (p *progress) update(phase string, done, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if phase != p.phase {
		if p.phase != "" {
			p.show(now, true)
		}
		p.phase, p.started, p.lastShown = phase, now, time.Time{}
	}
	p.lastDone, p.lastTotal = done, total
	// A first line once there is a rate to tell, then one every p.every.
	due := now.Sub(p.lastShown) >= p.every && now.Sub(p.started) >= min(p.every, time.Second)
	if due || done >= total {
		p.show(now, done >= total)
	}
}

// show draws the current phase; final ends its line.
func (p *progress) show(now time.Time, final bool) {
	if final && !p.lastShown.IsZero() && p.lastDone >= p.lastTotal && !p.terminal {
		return // the last plain line said 100% already
	}
	p.lastShown = now
	done, total := p.lastDone, p.lastTotal
	elapsed := now.Sub(p.started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	left := "?"
	if rate > 0 && total >= done {
		left = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	name := phaseNames[p.phase]
	if name == "" {
		name = p.phase
	}
	// A phase told only once it was over (the hash chain, checked beside
	// the plan) has no rate to tell.
	rated := fmt.Sprintf(", %.0f events/s, %s left", rate, left)
	if rate == 0 && done >= total {
		rated = ""
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: %.0f%% (%d/%d events)%s\n", name, pct, done, total, rated)
		return
	}
	const width = 30
	filled := int(pct / 100 * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	line := fmt.Sprintf("\r%-18s %s %5.1f%% %d/%d  %.0f ev/s  %s left", name, bar, pct, done, total, rate, left)
	if rated == "" {
		line = fmt.Sprintf("\r%-18s %s %5.1f%% %d/%d", name, bar, pct, done, total)
	}
	pad := max(0, p.drawnWidth-len(line))
	fmt.Fprint(p.w, line+strings.Repeat(" ", pad))
	p.drawnWidth = len(line)
	if final {
		fmt.Fprintln(p.w)
		p.drawnWidth = 0
	}
}

// done ends the last phase's line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != "" && p.terminal && p.drawnWidth > 0 {
		fmt.Fprintln(p.w)
	}
}
