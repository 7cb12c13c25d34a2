// Package audit replays the whole log into fresh state and recomputes every
// decision the sagas recorded, with the catalogue version it recorded and
// the register as of the position it recorded, reporting every divergence
// (lifesituations audit verify).
//
// It reads the log twice. The first pass, the plan, reads only the
// situation events that lead a decision, the catalogue's publications and
// the facts that join persons into kin: it learns at which register
// positions the decisions looked at the register, and whose rows they can
// read (kin.go). The hash chain, where the store has one, is checked in
// the same pass (Config.Integrity).
// The second pass folds every event but the others' facts into a fresh
// register, stopping at each of those positions to read the families the
// decisions read, and recomputes each decision as its event comes: the
// opening's steps with catalogue.Decide, the follow-ups of a confirmed
// draft and the notice of a missed deadline as the sagas decide them.
//
// The replay is a pipeline: reading (pages of positions read, their
// personal fields opened and their openings and decisions decoded, on
// every core, running ahead of the fold), folding, preparing (recomputing
// the openings, on every core) and the verification proper, which takes
// the events in log order.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonenc"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/personaldata"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
	"lifesituations/sagas/situations"
)

// CatalogueStream and CataloguePublished: the server records there every
// catalogue version it runs with (cmd/lifesituations).
const (
	CatalogueStream    = "catalogue"
	CataloguePublished = "catalogue.published"
)

// Config of a verification.
type Config struct {
	// Store is the log, read only. A store that opens personal fields
	// (adapters/eventstore/sealed) is read below it, and opened as it
	// opens them (see source).
	Store eventstore.Store
	// Catalogues are the versions the auditor supplies (the embedded one
	// and older ones); decisions of any other are unverifiable.
	Catalogues []*catalogue.Catalogue
	// Scratch is a directory for the fresh register's file; when empty
	// the register is folded in memory (register.Memory: faster, and as
	// big as the persons' facts), and so are the persons' keys
	// (keystore.All; with a scratch directory they are looked up one by
	// one, in the key store's bounded cache).
	Scratch string
	// Integrity checks the log's hash chain, when the store has one, and
	// lends fn the events up to upTo that pass filter from its own read
	// of the log (embedded.Store.ScanVerifying), so that the plan does not
	// read the log a time of its own. It returns once the log is read;
	// wait returns the check's findings.
	Integrity func(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter,
		fn func(*eventstore.RecordedEvent) error, progress func(done, total uint64)) (wait func() ([]IntegrityBreak, error), err error)
	// Progress is told how far each phase has got: "chain", "plan" and
	// "replay", done out of total (log positions).
	Progress func(phase string, done, total uint64)
	// Page is the number of events read at once (default 8192).
	Page int
	// EveryFact folds every registry fact into the fresh register, also
	// those of persons no decision can read (see kin.go), which are
	// otherwise left out: slower, for an auditor who wants each fact
	// folded (a fact the register refuses stops the verification).
	EveryFact bool
}

// Verify replays the log and reports.
func Verify(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Page <= 0 {
		cfg.Page = 8192
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string, uint64, uint64) {}
	}
	last, err := cfg.Store.LastPosition(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{LastPosition: last, Phases: map[string]string{}, Divergences: []Divergence{},
		Unverifiable: []Unverifiable{}, Integrity: []IntegrityBreak{}, Catalogues: []CatalogueUse{}}
	v := &verifier{cfg: cfg, rep: rep, last: last, catalogues: map[string]*catalogue.Catalogue{},
		unverifiable: map[string]*Unverifiable{}, verifiedBy: map[string]int{}}
	for _, c := range cfg.Catalogues {
		v.catalogues[c.Hash()] = c
	}
	v.src = source(ctx, cfg.Store, cfg.Scratch == "")
	// The hash chain is checked in the plan's read of the log, and before
	// the replay, whose breaks come after its own in the report. Its
	// progress is told once the plan's is over.
	chain := newChainCheck(cfg)
	v.chain = chain
	start := time.Now()
	if err := v.plan(ctx); err != nil {
		chain.stop()
		return nil, err
	}
	rep.Phases["plan"] = time.Since(start).Round(time.Millisecond).String()
	// The replay's readers start once the plan says whose facts to fold:
	// they open and decode only those (and every other event).
	reading := v.startReading(ctx)
	defer reading.stop()
	if chain == nil {
		rep.ChainNote = "this store has no hash chain check"
	} else {
		breaks, took, err := chain.wait()
		if err != nil {
			return nil, fmt.Errorf("hash chain: %w", err)
		}
		rep.ChainChecked = true
		rep.Integrity = append(rep.Integrity, breaks...)
		rep.Phases["chain"] = took.Round(time.Millisecond).String()
	}

	if cfg.Scratch != "" {
		reg, err := register.OpenScratch(filepath.Join(cfg.Scratch, "register.db"))
		if err != nil {
			return nil, fmt.Errorf("fresh register: %w", err)
		}
		defer reg.Close()
		if reg.Position() != 0 {
			return nil, fmt.Errorf("fresh register: %s is not empty", cfg.Scratch)
		}
		v.reg = reg
	}
	replayStart := time.Now()
	if err := v.replay(ctx, reading); err != nil {
		return nil, err
	}
	rep.Divergences = append(rep.Divergences, v.lateTasks...)
	if v.want != nil {
		rep.RegisterPersons, rep.FactsLeft = len(v.want), v.factsLeft.Load()
	}
	rep.ReplayElapsed = time.Since(start)
	rep.Phases["replay"] = time.Since(replayStart).Round(time.Millisecond).String()
	if secs := rep.ReplayElapsed.Seconds(); secs > 0 {
		rep.EventsPerSec = float64(rep.Events) / secs
	}
	v.finish()
	return rep, nil
}

// chainCheck is the hash chain check, which reads the log for the plan.
type chainCheck struct {
	check    func(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter, fn func(*eventstore.RecordedEvent) error, progress func(done, total uint64)) (wait func() ([]IntegrityBreak, error), err error)
	cancel   context.CancelFunc
	done     chan struct{}
	progress func(phase string, done, total uint64)
	// planning: the plan shows its progress, the check keeps quiet.
	planning atomic.Bool
	// Set by the check's goroutine, read once done is closed.
	breaks      []IntegrityBreak
	err         error
	took        time.Duration
	at, total   uint64
	reportedEnd bool
}

// newChainCheck is the check cfg asks for, not yet started; nil without
// one.
func newChainCheck(cfg Config) *chainCheck {
	if cfg.Integrity == nil {
		return nil
	}
	c := &chainCheck{check: cfg.Integrity, progress: cfg.Progress}
	c.planning.Store(true)
	return c
}

// report is the check's progress: told once the plan's is over.
func (c *chainCheck) report(done, total uint64) {
	c.at, c.total = done, total
	if !c.planning.Load() {
		c.progress("chain", done, total)
		c.reportedEnd = done >= total
	}
}

// scan runs the check, which reads the log for fn too: it returns once
// the log is read, the check going on in a goroutine of its own.
func (c *chainCheck) scan(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter, fn func(*eventstore.RecordedEvent) error) error {
	ctx, c.cancel = context.WithCancel(ctx)
	began := time.Now()
	wait, err := c.check(ctx, upTo, filter, fn, c.report)
	if err != nil {
		c.cancel()
		return err
	}
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		c.breaks, c.err = wait()
		c.took = time.Since(began)
	}()
	return nil
}

// stop cancels the check and waits for it to end.
func (c *chainCheck) stop() {
	if c != nil && c.done != nil {
		c.cancel()
		<-c.done
	}
}

// wait lets the check tell its progress and waits for its result.
func (c *chainCheck) wait() ([]IntegrityBreak, time.Duration, error) {
	c.planning.Store(false)
	<-c.done
	c.cancel()
	if c.err == nil && !c.reportedEnd && c.total > 0 {
		c.progress("chain", c.at, c.total) // where it ended while the plan was shown
	}
	return c.breaks, c.took, c.err
}

// verifier holds a verification's state.
type verifier struct {
	cfg  Config
	src  logSource
	rep  *Report
	last eventstore.Position
	// chain is the hash chain check, nil without one; it reads the log
	// for the plan.
	chain *chainCheck
	// reg is the fresh register's file, nil when it is folded in memory.
	reg *register.Projection
	// scratch is the fold into the fresh register (in memory, or into reg
	// in one open transaction), which the families are read from as of
	// what it has folded (see fold).
	scratch    scratchRegister
	catalogues map[string]*catalogue.Catalogue

	// From the plan: the tasks reading the register at each position, in
	// order; the situations whose state must be folded (those with
	// follow-ups, notices or orphan decisions), each up to the last event
	// that reads it; the trigger positions; the catalogues published.
	tasks      map[eventstore.Position][]task
	taskOrder  []eventstore.Position
	stateUntil map[uuid.UUID]eventstore.Position
	sitPeople  map[uuid.UUID][]string
	triggers   map[eventstore.Position]triggerSeen
	published  []published
	// want: the persons whose facts the replay folds (nil: everyone's),
	// from the plan's kin; triggerAt: the triggers' positions, which the
	// readers keep whatever they name (triggers is the replay's). Both
	// are read by the readers, and not written once the plan is over.
	want      map[uuid.UUID]struct{}
	triggerAt map[eventstore.Position]struct{}
	factsLeft atomic.Uint64

	// During the replay: the states folded, the steps among theirs whose
	// decision is folded in part (forState) with the recorded decision to
	// decode when it is read, the batch being compared.
	states  map[uuid.UUID]*situation.State
	partial map[uuid.UUID]map[uuid.UUID]json.RawMessage
	run     *run

	unverifiable map[string]*Unverifiable
	verifiedBy   map[string]int
	// lateTasks: decisions that read the register past the log's end.
	lateTasks []Divergence
}

// task reads the families of persons from the register as of a position.
type task struct {
	key     taskKey
	persons []string
}

// taskKey names a task: the situation and the position of the event
// leading the decision (its opening or the confirmation of a draft).
type taskKey struct {
	situation uuid.UUID
	leader    eventstore.Position
}

type triggerSeen struct {
	seen bool
	id   uuid.UUID
	data []byte
	// openings still to check it: the last one lets it go.
	openings int
}

type published struct {
	position eventstore.Position
	version  string
	hash     string
}

// read pages through store's log with filter, reading the next page while
// the previous one is handled.
func (v *verifier) read(ctx context.Context, store eventstore.Store, filter eventstore.Filter, fn func([]eventstore.RecordedEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		events []eventstore.RecordedEvent
		err    error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		var after eventstore.Position
		for after < v.last {
			evs, err := store.ReadAll(ctx, after, filter, v.cfg.Page)
			var kept []eventstore.RecordedEvent
			for i, e := range evs {
				if e.Position > v.last {
					break
				}
				kept = evs[:i+1]
			}
			select {
			case pages <- page{kept, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(evs) < v.cfg.Page || len(kept) < len(evs) {
				return
			}
			after = evs[len(evs)-1].Position
		}
	}()
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("read the log: %w", p.err)
		}
		if err := fn(p.events); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// lender is a store that lends each event it reads to a function rather
// than copy it into a page (adapters/eventstore/embedded): the plan keeps
// little of each event (copying the payloads was most of its CPU), and the
// replay's readers open each into a buffer of their own.
type lender interface {
	Scan(ctx context.Context, after, upTo eventstore.Position, filter eventstore.Filter, fn func(*eventstore.RecordedEvent) error) error
}

// each hands fn the events of the log up to v.last that pass the filter,
// lent by the hash chain's check from its own read of the log
// (Config.Integrity) or, without one, where the store can, fn copying what
// it keeps; and tells phase's progress every page.
func (v *verifier) each(ctx context.Context, store eventstore.Store, filter eventstore.Filter, phase string, fn func(*eventstore.RecordedEvent) error) error {
	n := 0
	lent := func(e *eventstore.RecordedEvent) error {
		if n++; n%v.cfg.Page == 0 {
			v.cfg.Progress(phase, e.Position, v.last)
		}
		return fn(e)
	}
	if v.chain != nil {
		return v.chain.scan(ctx, v.last, filter, lent)
	}
	if l, ok := store.(lender); ok {
		return l.Scan(ctx, 0, v.last, filter, lent)
	}
	return v.read(ctx, store, filter, func(evs []eventstore.RecordedEvent) error {
		for i := range evs {
			if err := fn(&evs[i]); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			v.cfg.Progress(phase, evs[len(evs)-1].Position, v.last)
		}
		return nil
	})
}

// leaders are the event types that lead a batch of decisions.
var leaders = []string{situation.TypeOpened, situation.TypeDraftConfirmed, situation.TypeDraftExpired}

// batchState tells, event by event, which batch a step decision belongs
// to: the events a saga command appends are consecutive in the log.
type batchState struct {
	prevPos    eventstore.Position
	prevStream string
	leader     string
	leaderPos  eventstore.Position
}

// next returns the leader type and position of the batch e belongs to.
func (b *batchState) next(e *eventstore.RecordedEvent) (string, eventstore.Position) {
	continues := e.Type == situation.TypeStepDecided && e.Position == b.prevPos+1 && e.Stream == b.prevStream &&
		slices.Contains(leaders, b.leader)
	if !continues {
		b.leader, b.leaderPos = e.Type, e.Position
	}
	b.prevPos, b.prevStream = e.Position, e.Stream
	return b.leader, b.leaderPos
}

// plan reads the decisions' leaders: where the register is read, which
// states are needed, the catalogues published.
func (v *verifier) plan(ctx context.Context) error {
	v.tasks = map[eventstore.Position][]task{}
	v.stateUntil = map[uuid.UUID]eventstore.Position{}
	v.sitPeople = map[uuid.UUID][]string{}
	v.triggers = map[eventstore.Position]triggerSeen{}
	decisions := eventstore.Filter{
		StreamPrefixes: []string{situation.StreamPrefix, CatalogueStream},
		TypePrefixes:   append([]string{situation.TypeStepDecided, CataloguePublished}, leaders...),
	}
	filter := decisions
	var (
		named []uuid.UUID
		k     *kin
	)
	if !v.cfg.EveryFact {
		// And the facts that join persons into kin (see kin.go).
		k = newKin()
		filter = eventstore.Filter{
			StreamPrefixes: append(slices.Clone(decisions.StreamPrefixes), lifeevent.StreamPrefix),
			TypePrefixes:   append(slices.Clone(decisions.TypePrefixes), register.LinkingFacts...),
		}
	}
	var b batchState
	// Each event is lent: what the plan keeps of it (ids, positions, the
	// persons' ids as strings) is its own.
	err := v.each(ctx, v.src.store, filter, "plan", func(e *eventstore.RecordedEvent) error {
		if strings.HasPrefix(e.Stream, lifeevent.StreamPrefix) {
			var ok bool
			if named, ok = register.FactPersons(e, named[:0]); ok {
				k.join(named)
			}
			return nil
		}
		if !decisions.Match(e.Stream, e.Type) {
			return nil // a fact's type in another stream: not the plan's
		}
		if e.Stream == CatalogueStream {
			if e.Type == CataloguePublished {
				var p struct{ Version, Hash string }
				if err := json.Unmarshal(e.Data, &p); err == nil {
					v.published = append(v.published, published{position: e.Position, version: p.Version, hash: p.Hash})
				}
			}
			return nil
		}
		leader, _ := b.next(e)
		switch {
		case e.Type == situation.TypeOpened:
			o, err := decodePlanOpening(e.Data)
			if err != nil {
				return fmt.Errorf("position %d: decode %s: %w", e.Position, e.Type, err)
			}
			// The plan needs only ids, types and positions, none of
			// them personal, but for the persons a trigger names,
			// which the sagas took from its opened data (a personal
			// value could read as an id): only the triggers' data is
			// opened, the facts' envelopes (most of the plan's) stay
			// shut.
			data, err := v.src.open(o.Trigger.Data)
			if err != nil {
				return fmt.Errorf("position %d: open the trigger of %s: %w", e.Position, e.Type, err)
			}
			persons, _ := triggerPersons(data)
			v.sitPeople[o.SituationID] = persons
			v.addTask(o.RegisterPosition, task{key: taskKey{o.SituationID, e.Position}, persons: persons})
			t := v.triggers[o.Trigger.Position]
			t.openings++
			v.triggers[o.Trigger.Position] = t
		case e.Type == situation.TypeDraftConfirmed:
			// Its follow-ups (if the catalogue offers any) are decided
			// with the register as it stood when the draft was
			// confirmed: just before the confirmation.
			sit := situationOf(e.Stream)
			v.stateUntil[sit] = e.Position
			v.addTask(e.Position-1, task{key: taskKey{sit, e.Position}, persons: v.sitPeople[sit]})
		case e.Type == situation.TypeDraftExpired,
			e.Type == situation.TypeStepDecided && leader != situation.TypeOpened:
			v.stateUntil[situationOf(e.Stream)] = e.Position
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.cfg.Progress("plan", v.last, v.last)
	v.sitPeople = nil // for the plan's confirmations only
	if k != nil {
		v.want = v.wanted(k)
		v.triggerAt = make(map[eventstore.Position]struct{}, len(v.triggers))
		for pos := range v.triggers {
			v.triggerAt[pos] = struct{}{}
		}
	}
	for pos := range v.tasks {
		v.taskOrder = append(v.taskOrder, pos)
	}
	slices.Sort(v.taskOrder)
	return nil
}

// sealedStore is a store that opens the personal fields of the events it
// reads (adapters/eventstore/sealed).
type sealedStore interface {
	Inner() eventstore.Store
	Keys() personaldata.KeyStore
}

// logSource is where the verification reads the log: a store and how to
// open the personal fields of the events it gives (none to open when it
// opens them itself).
type logSource struct {
	store eventstore.Store
	// keyOf is the key of a person, nil when store gives opened events.
	keyOf func(owner string) (personaldata.Key, error)
}

// source reads a sealed store below its decorator and opens the events as
// it does (personaldata.Unseal with its key store), but on every core,
// with every key read at once when inMemory and the key store can. Any
// other store is read as it is.
func source(ctx context.Context, s eventstore.Store, inMemory bool) logSource {
	ss, ok := s.(sealedStore)
	if !ok {
		return logSource{store: s}
	}
	keys := ss.Keys()
	lookup := func(owner string) (personaldata.Key, error) { return keys.Lookup(ctx, owner) }
	all, ok := keys.(everyKey)
	if !ok || !inMemory {
		return logSource{store: ss.Inner(), keyOf: lookup}
	}
	// Read beside the plan and the hash chain, which need few keys; the
	// replay's readers wait for it.
	loaded := make(chan struct{})
	var (
		known *personaldata.KeyTable
		err   error
	)
	go func() {
		defer close(loaded)
		known, err = all.All()
	}()
	return logSource{store: ss.Inner(), keyOf: func(owner string) (personaldata.Key, error) {
		<-loaded
		if err != nil {
			return personaldata.Key{}, err
		}
		if k, ok := known.Key(owner); ok {
			return k, nil
		}
		return lookup(owner) // no key: the store says so in its words
	}}
}

// everyKey is a key store that reads every key in one pass
// (adapters/keystore): a replay of the whole log opens nearly every
// person's fields, and a lookup per person, in no order the store keeps,
// cost more than the rest of the reading.
type everyKey interface {
	All() (*personaldata.KeyTable, error)
}

// open opens the personal fields of one event's data.
func (src logSource) open(data []byte) ([]byte, error) {
	if src.keyOf == nil {
		return data, nil
	}
	return personaldata.Unseal(data, src.keyOf)
}

// own opens the personal fields of one event's data lent by the store
// (see lender), into bytes of its own.
func (src logSource) own(data []byte) ([]byte, error) {
	if src.keyOf == nil {
		return bytes.Clone(data), nil
	}
	return personaldata.UnsealCopy(data, src.keyOf)
}

func (v *verifier) addTask(pos eventstore.Position, t task) {
	v.tasks[pos] = append(v.tasks[pos], t)
}

func situationOf(stream string) uuid.UUID {
	id, _ := uuid.Parse(strings.TrimPrefix(stream, situation.StreamPrefix))
	return id
}

// triggerPersons decodes a trigger's data as json.Unmarshal into a
// map[string]any does (nil for anything but an object or null), with
// jsonscan where it can: encoding/json took 0.75 s of CPU over a million
// persons' year, for the plan and the replayed openings.
func triggerPersons(data json.RawMessage) ([]string, map[string]any) {
	var m map[string]any
	var v any
	if jsonscan.Valid(data) && jsonscan.Any(&v, data) {
		obj, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, nil
		}
		m = obj
	} else if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil
	}
	return situations.PersonIDs(m), m
}

// registerBatch bounds the events folded into the register in one
// transaction between two positions the decisions read it at.
const registerBatch = 16384

// folded is a page of the log once folded into the register, with the
// families the decisions read at the positions within it.
type folded struct {
	events []eventstore.RecordedEvent
	people map[taskKey]map[string]catalogue.Person
	// decoded, parallel to events: decoded by the readers, the
	// openings replayed by prepare.
	decoded []decoded
}

// replay folds the whole log into the fresh register and verifies each
// decision as it comes. The fold and the verification run concurrently:
// a page is verified once the register has gone past it, which is when
// the families its decisions read (as of earlier positions) are known.
func (v *verifier) replay(ctx context.Context, reading *pageReader) error {
	v.states = map[uuid.UUID]*situation.State{}
	v.partial = map[uuid.UUID]map[uuid.UUID]json.RawMessage{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(ctx, reading.cancel)()
	foldedPages := make(chan folded, 2)
	foldErr := make(chan error, 1)
	go func() {
		defer close(foldedPages)
		foldErr <- v.fold(ctx, reading.pages, foldedPages)
	}()
	decodedPages := make(chan folded, 2)
	go v.prepare(ctx, foldedPages, decodedPages)

	var (
		prevPos eventstore.Position
		b       batchState
	)
	for page := range decodedPages {
		for i := range page.events {
			e := page.events[i]
			if e.Position != prevPos+1 {
				v.rep.Integrity = append(v.rep.Integrity, IntegrityBreak{Position: e.Position,
					Detail: fmt.Sprintf("the log jumps from position %d to %d: %d record(s) missing", prevPos, e.Position, e.Position-prevPos-1)})
			}
			prevPos = e.Position
			v.rep.Events++
			if t, ok := v.triggers[e.Position]; ok {
				t.seen, t.id, t.data = true, e.ID, e.Data
				v.triggers[e.Position] = t
			}
			leader, leaderPos := b.next(&e)
			if v.run != nil && (e.Type != situation.TypeStepDecided || leaderPos != v.run.leaderPos) {
				v.endRun()
			}
			if strings.HasPrefix(e.Stream, situation.StreamPrefix) {
				if err := v.situationEvent(e, leader, leaderPos, page.decoded[i]); err != nil {
					cancel()
					for range decodedPages {
					}
					return err
				}
			}
		}
		if n := len(page.events); n > 0 {
			v.cfg.Progress("replay", page.events[n-1].Position, v.last)
		}
	}
	if err := errors.Join(reading.stop(), <-foldErr); err != nil {
		return err
	}
	if v.run != nil {
		v.endRun()
	}
	if prevPos != v.last {
		v.rep.Integrity = append(v.rep.Integrity, IntegrityBreak{Position: prevPos,
			Detail: fmt.Sprintf("the log ends at position %d, its last position is %d", prevPos, v.last)})
	}
	v.cfg.Progress("replay", v.last, v.last)
	return nil
}

// fold folds the pages into the register, stopping at every position a
// decision read it at to read the families it read, and passes each page
// on once folded.
func (v *verifier) fold(ctx context.Context, pages <-chan loaded, out chan<- folded) error {
	// The fold keeps one write transaction open and reads the families
	// in it, as of what it has folded (committed or not): a commit per
	// position read at would cost more than the fold.
	var (
		scratch scratchRegister
		commit  = func() error { return nil }
	)
	if v.reg == nil {
		scratch = register.NewMemory()
	} else {
		f, err := v.reg.BeginFold(registerBatch)
		if err != nil {
			for range pages {
			}
			return err
		}
		defer f.Rollback()
		scratch, commit = f, f.Commit
	}
	v.scratch = scratch
	var (
		batch []eventstore.RecordedEvent
		// batchData: the events' data as the readers decoded it for the
		// register, parallel to batch.
		batchData []register.Decoded
		next      int // index in taskOrder of the next position to read at
		page      folded
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := scratch.ApplyDecoded(batch, batchData)
		clear(batch)
		clear(batchData)
		batch, batchData = batch[:0], batchData[:0]
		return err
	}
	// readAt reads the families of every task at a position before pos.
	readAt := func(pos eventstore.Position) error {
		for next < len(v.taskOrder) && v.taskOrder[next] < pos {
			if err := flush(); err != nil {
				return err
			}
			for _, t := range v.tasks[v.taskOrder[next]] {
				if page.people == nil {
					page.people = map[taskKey]map[string]catalogue.Person{}
				}
				page.people[t.key] = v.families(t.persons)
			}
			next++
		}
		return nil
	}
	fail := func(err error) error {
		for range pages {
		}
		return err
	}
	if err := readAt(1); err != nil {
		return fail(err)
	}
	for p := range pages {
		evs := p.events
		for i, e := range evs {
			if err := readAt(e.Position); err != nil {
				return fail(err)
			}
			if p.decoded[i].left {
				continue
			}
			batch = append(batch, e)
			// The page goes on to the verification without it.
			batchData = append(batchData, p.decoded[i].register)
			p.decoded[i].register = register.Decoded{}
			if len(batch) >= registerBatch {
				if err := flush(); err != nil {
					return fail(err)
				}
			}
		}
		// The page is verified once the register has folded it: the
		// next page's decisions may read it as of a position in it.
		page.events, page.decoded = evs, p.decoded
		select {
		case out <- page:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		page = folded{}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	for _, pos := range v.taskOrder[next:] {
		for _, t := range v.tasks[pos] {
			v.lateTasks = append(v.lateTasks, Divergence{Kind: KindFacts, Situation: t.key.situation, Position: t.key.leader,
				Detail: fmt.Sprintf("the decision read the register as of position %d, past the end of the log (%d)", pos, v.last)})
		}
	}
	return nil
}

// scratchRegister is the fresh register the replay folds into: a
// register.Memory, or a register.Fold into a file.
type scratchRegister interface {
	ApplyDecoded(events []eventstore.RecordedEvent, decoded []register.Decoded) error
	Family(id string) map[string]catalogue.Person
}

// families reads what the sagas read of the register for a trigger: the
// family of every person it names.
func (v *verifier) families(persons []string) map[string]catalogue.Person {
	out := map[string]catalogue.Person{}
	for _, id := range persons {
		for pid, p := range v.scratch.Family(id) {
			out[pid] = p
		}
	}
	return out
}

// run is a batch of step decisions being compared with the replay's.
type run struct {
	situation uuid.UUID
	kind      string
	leader    string
	leaderPos eventstore.Position
	catalogue string
	// expected: the replay's steps by key, nil when the batch cannot be
	// verified (unverifiable or failed: said already).
	expected map[string]catalogue.StepDecision
	// expectedJSON: the expected steps encoded ahead (prepare), when they are.
	expectedJSON map[string][]byte
	order        []string
	seen         map[string]bool
	// parent is the confirmed draft (follow-ups) or the expired one (notice).
	parent uuid.UUID
	// unverifiable: decided with a catalogue not supplied (hash).
	unverifiable bool
	hash         string
}

func (v *verifier) situationEvent(e eventstore.RecordedEvent, leader string, leaderPos eventstore.Position, pre decoded) error {
	sit := situationOf(e.Stream)
	switch e.Type {
	case situation.TypeOpened:
		v.rep.Situations++
		if err := v.opened(e, pre.opening); err != nil {
			return err
		}
	case situation.TypeDraftConfirmed, situation.TypeDraftExpired:
		if v.foldsState(sit, e.Position) {
			v.startFollowing(e, pre.people)
		}
	case situation.TypeStepDecided:
		v.rep.Decisions++
		v.decided(e, leader, pre.step)
	}
	if until := v.stateUntil[sit]; e.Position == until {
		// Nothing reads the state after this event: a year's situations
		// kept to the end weighed half a gigabyte.
		delete(v.states, sit)
		delete(v.partial, sit)
	} else if e.Position < until {
		st, ok := v.states[sit]
		if !ok {
			st = &situation.State{}
			v.states[sit] = st
		}
		if pre.opening != nil && pre.opening.err == nil && !ok {
			// A fresh state folds an opening by decoding it into Opened,
			// as prepare has: its decoding serves (read only) both.
			st.Opened = pre.opening.opened
		} else if pre.decided != nil {
			st.ApplyStepDecided(*pre.decided) // decoded by prepare
			v.foldedStep(sit, pre.decided.StepID, pre.decidedRaw)
		} else if err := st.Apply(e.Type, e.Data); err != nil {
			v.diverge(Divergence{Kind: KindError, Situation: sit, Position: e.Position, EventID: e.ID,
				Detail: fmt.Sprintf("the situation does not fold: %v", err)})
		}
	}
	return nil
}

// opened recomputes a situation's opening: its facts, its own decision and
// the steps that must follow it in the same batch.
func (v *verifier) opened(e eventstore.RecordedEvent, rec *openingRecord) error {
	o := rec.opened
	if err := rec.err; err != nil {
		v.diverge(Divergence{Kind: KindError, Situation: situationOf(e.Stream), Position: e.Position, EventID: e.ID,
			Detail: fmt.Sprintf("the opening does not decode: %v", err)})
		return nil
	}
	r := &run{situation: o.SituationID, kind: o.Kind, leader: e.Type, leaderPos: e.Position,
		catalogue: o.CatalogueVersion, seen: map[string]bool{}}
	v.run = r
	base := Divergence{Situation: o.SituationID, SituationKind: o.Kind, Position: e.Position, EventID: e.ID, Catalogue: o.CatalogueVersion}

	if o.SituationID != situation.ID(o.Kind, o.Trigger.EventID) || e.Stream != situation.Stream(o.SituationID) {
		d := base
		d.Kind, d.Detail = KindIdentity, fmt.Sprintf("the situation id is not the one derived from its kind and trigger (%s)", situation.ID(o.Kind, o.Trigger.EventID))
		v.diverge(d)
	}
	if want := situation.EventID(o.SituationID, "opened"); e.ID != want {
		d := base
		d.Kind, d.Detail = KindIdentity, fmt.Sprintf("the opening's event id is not the one the saga derives (%s)", want)
		v.diverge(d)
	}
	t := v.triggers[o.Trigger.Position]
	if t.openings--; t.openings <= 0 {
		delete(v.triggers, o.Trigger.Position)
	} else {
		v.triggers[o.Trigger.Position] = t
	}
	if !t.seen || t.id != o.Trigger.EventID || !equalJSON(t.data, o.Trigger.Data) {
		d := base
		d.Kind = KindTrigger
		d.Detail = fmt.Sprintf("the trigger recorded (%s %s) is not the event at position %d of the log", o.Trigger.Type, o.Trigger.EventID, o.Trigger.Position)
		if t.seen {
			d.Detail += fmt.Sprintf(" (there: %s)", t.id)
		}
		v.diverge(d)
	}
	rp := rec.replay
	if !rp.factsEqual {
		d := base
		d.Kind = KindFacts
		d.Detail = fmt.Sprintf("the register replayed as of position %d does not give the facts the decision read", o.RegisterPosition)
		d.Differences = diff(rp.recordedFacts, rp.replayedFacts)
		v.diverge(d)
	}

	r.hash = o.CatalogueHash
	if rp.cat == nil {
		r.unverifiable = true
		return nil
	}
	if rp.sit == nil {
		d := base
		d.Kind, d.Detail = KindOpening, fmt.Sprintf("catalogue %s has no situation %q", o.CatalogueVersion, o.Kind)
		v.diverge(d)
		return nil
	}
	if err := rp.dateErr; err != nil {
		d := base
		d.Kind, d.Detail = KindError, fmt.Sprintf("the event date cannot be computed: %v", err)
		v.diverge(d)
		return nil
	}
	if eventDate := rp.eventDate; eventDate != o.Trigger.EventDate {
		d := base
		d.Kind = KindOpening
		d.Detail = "the life event's date differs"
		d.Differences = []Difference{{Path: "/trigger/event_date", Recorded: o.Trigger.EventDate, Replayed: eventDate}}
		v.diverge(d)
	}
	if err := rp.decideErr; err != nil {
		d := base
		d.Kind, d.Detail = KindError, fmt.Sprintf("the replay cannot decide: %v", err)
		v.diverge(d)
		return nil
	}
	dec := rp.dec
	recorded, replayed := rp.recordedOpening, rp.replayedOpening
	if !bytes.Equal(recorded, replayed) {
		d := base
		d.Kind, d.Detail = KindOpening, "the situation's applicant, participants or parameters differ"
		d.Differences, d.Recorded, d.Replayed = diff(recorded, replayed), recorded, replayed
		v.diverge(d)
	}
	r.expected, r.expectedJSON = map[string]catalogue.StepDecision{}, rp.stepsJSON
	for _, s := range dec.Steps {
		r.expected[s.Key] = s
		r.order = append(r.order, s.Key)
	}
	return nil
}

type opening struct {
	Applicant    string               `json:"applicant"`
	Participants []string             `json:"participants"`
	Parameters   []catalogue.ParamUse `json:"parameters"`
}

func openingOf(applicant string, participants []string, params []catalogue.ParamUse) opening {
	if participants == nil {
		participants = []string{}
	}
	if params == nil {
		params = []catalogue.ParamUse{}
	}
	return opening{Applicant: applicant, Participants: participants, Parameters: params}
}

// startFollowing recomputes the follow-ups of a confirmed draft or the
// notice of an expired one, from the situation's state before the event.
func (v *verifier) startFollowing(e eventstore.RecordedEvent, people map[string]catalogue.Person) {
	sit := situationOf(e.Stream)
	st := v.states[sit]
	var ev struct {
		DraftID uuid.UUID      `json:"draft_id"`
		Fields  map[string]any `json:"fields"`
		At      time.Time      `json:"at"`
	}
	if st == nil || !st.IsOpen() || json.Unmarshal(e.Data, &ev) != nil {
		return
	}
	step, ok := st.Step(ev.DraftID)
	if !ok {
		return
	}
	r := &run{situation: sit, kind: st.Opened.Kind, leader: e.Type, leaderPos: e.Position, seen: map[string]bool{}, parent: ev.DraftID}
	v.run = r
	// Follow-ups and notices are decided with the catalogue the server ran
	// then: the last one published before.
	version, hash := v.inForce(e.Position, st.Opened)
	r.catalogue, r.hash = version, hash
	cat, ok := v.catalogues[hash]
	if !ok {
		r.unverifiable = true
		return
	}
	var steps []catalogue.StepDecision
	var err error
	switch e.Type {
	case situation.TypeDraftConfirmed:
		if len(step.Decision.FollowUps) == 0 {
			break
		}
		if step, _, err = v.stepOf(sit, st, ev.DraftID); err != nil {
			break
		}
		// The families of every person the trigger names, read together:
		// merged again by the saga, they give the same facts.
		family := func(string) map[string]catalogue.Person { return people }
		steps, err = situations.FollowUps(cat, family, st, step, ev.Fields, ev.At)
	case situation.TypeDraftExpired:
		if code := step.Decision.OnExpiry; code != "" {
			if step, _, err = v.stepOf(sit, st, ev.DraftID); err != nil {
				break
			}
			var n catalogue.StepDecision
			n, err = situations.Notice(cat, step.Decision, code)
			steps = []catalogue.StepDecision{n}
		}
	}
	if err != nil {
		v.diverge(Divergence{Kind: KindError, Situation: sit, SituationKind: r.kind, Position: e.Position, EventID: e.ID, Catalogue: version,
			Detail: fmt.Sprintf("the replay cannot decide what follows %s: %v", e.Type, err)})
		return
	}
	r.expected = map[string]catalogue.StepDecision{}
	for _, s := range steps {
		r.expected[s.Key] = s
		r.order = append(r.order, s.Key)
	}
}

// inForce is the catalogue the server ran at a position: the last one
// published before it, or the situation's own when none was.
func (v *verifier) inForce(pos eventstore.Position, o situation.Opened) (version, hash string) {
	version, hash = o.CatalogueVersion, o.CatalogueHash
	i := sort.Search(len(v.published), func(i int) bool { return v.published[i].position >= pos })
	if i > 0 {
		version, hash = v.published[i-1].version, v.published[i-1].hash
	}
	return version, hash
}

// stepRecord is a recorded step decision as the verification reads it.
type stepRecord struct {
	SituationID   uuid.UUID       `json:"situation_id"`
	StepID        uuid.UUID       `json:"step_id"`
	Decision      json.RawMessage `json:"decision"`
	GrantID       uuid.UUID       `json:"grant_id"`
	EntryID       uuid.UUID       `json:"entry_id"`
	ParentStepID  uuid.UUID       `json:"parent_step_id"`
	ExpiredStepID uuid.UUID       `json:"expired_step_id"`
	DecidedAt     time.Time       `json:"decided_at"`
	// Of the decision only what names it is decoded, and what a state
	// reads of it until a follow-up or a notice is decided: it is compared
	// whole, as recorded, with the replay's (equalJSON).
	named struct {
		Key       string            `json:"key"`
		Service   string            `json:"service"`
		Outcome   catalogue.Outcome `json:"outcome"`
		Registry  string            `json:"registry"`
		OnExpiry  string            `json:"on_expiry"`
		FollowUps []string          `json:"follow_ups"`
	}
	// decoded: the event decoded without an error, decision included.
	decoded bool
}

// forState is the decision as a state folds it, with only what names the
// decision: all the replay reads of a step until a follow-up, a notice or
// an orphan decision needs the rest (verifier.stepOf).
func (rec *stepRecord) forState() *situation.StepDecided {
	return &situation.StepDecided{SituationID: rec.SituationID, StepID: rec.StepID, GrantID: rec.GrantID, EntryID: rec.EntryID,
		DecidedAt: rec.DecidedAt, ParentStepID: rec.ParentStepID, ExpiredStepID: rec.ExpiredStepID,
		Decision: catalogue.StepDecision{Key: rec.named.Key, Service: rec.named.Service, Outcome: rec.named.Outcome, Registry: rec.named.Registry,
			OnExpiry: rec.named.OnExpiry, FollowUps: rec.named.FollowUps}}
}

// openingRecord is a recorded opening as the verification reads it, and
// its replay (prepare).
type openingRecord struct {
	opened situation.Opened
	err    error // why it does not decode
	replay openingReplay
}

// openingReplay is what the replay gives for an opening, a function of the
// opening, the families it read and the catalogues alone: the facts
// compared, then, with its catalogue and situation (nil when not
// supplied or absent), the event date and the decision.
type openingReplay struct {
	recordedFacts, replayedFacts []byte // aligned on erased values
	factsEqual                   bool
	cat                          *catalogue.Catalogue
	sit                          *catalogue.Situation
	eventDate                    string
	dateErr                      error
	dec                          catalogue.Decision
	decideErr                    error
	// The opening's applicant, participants and parameters as recorded
	// and replayed, and the replay's steps by key, as JSON.
	recordedOpening, replayedOpening []byte
	stepsJSON                        map[string][]byte
}

// compareFacts compares the facts an opening recorded with the families
// replayed: as JSON, aligned on erased values, unless they are equal values
// (most are), whose JSON is the same.
func (rp *openingReplay) compareFacts(recorded, replayed map[string]catalogue.Person) {
	if len(recorded) == 0 && len(replayed) == 0 || catalogue.SamePeople(recorded, replayed) {
		rp.factsEqual = true
		return
	}
	rp.recordedFacts, _ = jsonenc.Marshal(recorded)
	rp.replayedFacts, _ = jsonenc.Marshal(replayed)
	rp.recordedFacts, rp.replayedFacts = alignErased(rp.recordedFacts, rp.replayedFacts)
	rp.factsEqual = equalJSON(rp.recordedFacts, rp.replayedFacts)
}

// replayOpening recomputes a decoded opening with the families it read.
func (v *verifier) replayOpening(r *openingRecord, people map[string]catalogue.Person) {
	o, rp := &r.opened, &r.replay
	rp.compareFacts(o.Facts, people)
	cat, ok := v.catalogues[o.CatalogueHash]
	if !ok {
		return
	}
	rp.cat = cat
	sit, ok := cat.Situation(o.Kind)
	if !ok {
		return
	}
	rp.sit = sit
	_, data := triggerPersons(o.Trigger.Data)
	if rp.eventDate, rp.dateErr = sit.EventDate(data); rp.dateErr != nil {
		return
	}
	in := catalogue.Input{EventType: o.Trigger.Type, EventID: o.Trigger.EventID.String(), Data: data, EventDate: rp.eventDate,
		People: people, Today: o.OpenedAt}
	if rp.dec, rp.decideErr = catalogue.Decide(sit, in); rp.decideErr != nil {
		return
	}
	// What the verification compares, encoded here on every core.
	rp.recordedOpening, _ = jsonenc.Marshal(openingOf(o.PersonID, o.Participants, o.Parameters))
	rp.replayedOpening, _ = jsonenc.Marshal(openingOf(rp.dec.Applicant, rp.dec.Participants, rp.dec.Parameters))
	rp.stepsJSON = map[string][]byte{}
	for _, s := range rp.dec.Steps {
		if b, err := jsonenc.Marshal(s); err == nil {
			rp.stepsJSON[s.Key] = b
		} else {
			delete(rp.stepsJSON, s.Key) // decided tells the error
		}
	}
}

// decoded is what prepare made of one event of a page: nothing, an
// opening (decoded and replayed) or a step decision (decoded), and the
// families read for the decision it leads (an opening, a confirmation or
// an expiry).
type decoded struct {
	// left: the event is a fact the register is not folded with (see
	// kin.go), its data not read.
	left bool
	// register is the event's data as the register's fold reads it.
	register register.Decoded
	opening  *openingRecord
	step     *stepRecord
	// decided is a step decision of a situation whose state is folded,
	// as the state folds it (nil when it does not decode: State.Apply then
	// says why, in log order); decidedRaw the recorded decision when
	// decided holds only what names it (stepRecord.forState), taken here
	// because decided (the comparison) may replace step.Decision with a
	// copy aligned on erased fields.
	decided    *situation.StepDecided
	decidedRaw json.RawMessage
	people     map[string]catalogue.Person
}

// prepare recomputes the openings of each page (decoded by the readers),
// which are functions of the events and of the families read (folded
// before) alone, on every core, ahead of the verification, which must take
// the events in order.
func (v *verifier) prepare(ctx context.Context, in <-chan folded, out chan<- folded) {
	defer close(out)
	people := map[taskKey]map[string]catalogue.Person{}
	for page := range in {
		for key, p := range page.people {
			people[key] = p
		}
		// The families, taken in log order as the verification would.
		var openings []int
		for i := range page.events {
			e, d := &page.events[i], &page.decoded[i]
			var key taskKey
			switch {
			case d.opening != nil && d.opening.err == nil:
				key = taskKey{d.opening.opened.SituationID, e.Position}
				openings = append(openings, i)
			case (e.Type == situation.TypeDraftConfirmed || e.Type == situation.TypeDraftExpired) &&
				strings.HasPrefix(e.Stream, situation.StreamPrefix) && v.foldsState(situationOf(e.Stream), e.Position):
				key = taskKey{situationOf(e.Stream), e.Position}
			default:
				continue
			}
			d.people = people[key]
			delete(people, key)
		}
		parallel(len(page.events), func(i int) {
			if e := &page.events[i]; e.Type == situation.TypeStepDecided && page.decoded[i].step != nil {
				page.decoded[i].decided, page.decoded[i].decidedRaw = v.decodeDecided(e, page.decoded[i].step)
			}
		})
		parallel(len(openings), func(n int) {
			d := &page.decoded[openings[n]]
			v.replayOpening(d.opening, d.people)
		})
		select {
		case out <- page:
		case <-ctx.Done():
			for range in {
			}
			return
		}
	}
}

// foldsState reports whether the replay folds the event at pos into its
// situation's state: the plan says which states are read, and up to where.
func (v *verifier) foldsState(sit uuid.UUID, pos eventstore.Position) bool {
	until, ok := v.stateUntil[sit]
	return ok && pos <= until
}

// decodeDecided gives a step decision for the state of its situation, if
// one is folded, ahead of the verification: from the record decoded
// already, with the recorded decision to decode when it is read (only a
// follow-up, a notice or an orphan decision reads it; decoding every one
// with encoding/json was 7% of the verification's CPU); nil for other
// situations and where it does not decode. A decision whose other members
// would not decode into catalogue.StepDecision is found so when read
// (stepOf), and is reported anyway, as its bytes differ from the replay's.
func (v *verifier) decodeDecided(e *eventstore.RecordedEvent, rec *stepRecord) (*situation.StepDecided, json.RawMessage) {
	if !v.foldsState(situationOf(e.Stream), e.Position) {
		return nil, nil
	}
	if rec.decoded {
		return rec.forState(), rec.Decision
	}
	var d situation.StepDecided
	if json.Unmarshal(e.Data, &d) != nil {
		return nil, nil
	}
	return &d, nil
}

// foldedStep notes a step just folded into a situation's state: whether
// its decision is there in part (raw, to decode when read) or whole.
func (v *verifier) foldedStep(sit, step uuid.UUID, raw json.RawMessage) {
	if raw == nil {
		delete(v.partial[sit], step)
		return
	}
	if v.partial[sit] == nil {
		v.partial[sit] = map[uuid.UUID]json.RawMessage{}
	}
	v.partial[sit][step] = raw
}

// stepOf is a step of a folded state with its whole decision, decoded now
// if the state holds it in part; the error says why it does not decode.
func (v *verifier) stepOf(sit uuid.UUID, st *situation.State, id uuid.UUID) (*situation.Step, bool, error) {
	step, ok := st.Step(id)
	if !ok {
		return nil, false, nil
	}
	raw, partial := v.partial[sit][id]
	if !partial {
		return step, true, nil
	}
	var d catalogue.StepDecision
	if err := json.Unmarshal(raw, &d); err != nil {
		return step, true, fmt.Errorf("the decision of step %s does not decode: %w", id, err)
	}
	step.Decision, step.Reasons = d, d.Reasons
	delete(v.partial[sit], id)
	return step, true, nil
}

// parallel calls fn(i) for every i below n, on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// decided compares one recorded step decision with the replay's.
func (v *verifier) decided(e eventstore.RecordedEvent, leader string, rec *stepRecord) {
	sit := situationOf(e.Stream)
	if rec == nil {
		rec = decodeStep(e.Data)
	}
	named := rec.named
	base := Divergence{Situation: sit, Position: e.Position, EventID: e.ID}
	d := catalogue.StepDecision{Key: named.Key, Service: named.Service, Outcome: named.Outcome}
	base.Step, base.Service, base.StepID = d.Key, d.Service, rec.StepID
	r := v.run
	if r == nil || r.situation != sit || !slices.Contains(leaders, leader) {
		b := base
		b.Kind = KindOrphan
		b.Detail = "a decision recorded on its own: the sagas record decisions only with the opening of a situation, the confirmation of a draft or the expiry of one"
		if st := v.states[sit]; st != nil {
			b.SituationKind = st.Opened.Kind
			// A step whose decision does not decode was not folded, before
			// decisions were decoded when read: so it is not there.
			if prev, ok, err := v.stepOf(sit, st, rec.StepID); ok && err == nil {
				prevJSON, _ := jsonenc.Marshal(prev.Decision)
				if sameJSON(prevJSON, rec.Decision) {
					b.Detail += "; it repeats the decision recorded before"
				} else {
					b.Detail += fmt.Sprintf("; it contradicts the decision recorded before for this step (outcome %s)", prev.Decision.Outcome)
					b.Differences, b.Recorded, b.Replayed = diff(rec.Decision, prevJSON), rec.Decision, prevJSON
				}
			}
		}
		v.diverge(b)
		return
	}
	base.SituationKind, base.Catalogue = r.kind, r.catalogue
	if r.unverifiable {
		v.unverified(r.catalogue, r.hash, sit, "this catalogue version was not supplied (the embedded one or --catalogue DIR)")
		return
	}
	if r.expected == nil {
		return // the replay could not decide: said already
	}
	if r.seen[d.Key] {
		b := base
		b.Kind, b.Detail = KindExtra, "the step is recorded twice in the same batch"
		v.diverge(b)
		return
	}
	r.seen[d.Key] = true
	want, ok := r.expected[d.Key]
	if !ok {
		b := base
		b.Kind, b.Detail, b.Recorded = KindExtra, "the log records a step the replay does not decide", rec.Decision
		v.diverge(b)
		return
	}
	ok = v.identities(base, e, sit, rec.StepID, rec.GrantID, rec.EntryID, d, leader, r, rec.ParentStepID, rec.ExpiredStepID)
	replayed, encoded := r.expectedJSON[d.Key]
	var err error
	if !encoded {
		replayed, err = jsonenc.Marshal(want)
	}
	if err != nil {
		b := base
		b.Kind, b.Detail = KindError, err.Error()
		v.diverge(b)
		return
	}
	rec.Decision, replayed = alignErased(rec.Decision, replayed)
	if !equalJSON(rec.Decision, replayed) {
		b := base
		b.Kind = KindDecision
		b.Detail = fmt.Sprintf("recorded %s, the replay gives %s", d.Outcome, want.Outcome)
		if d.Outcome == want.Outcome {
			b.Detail = fmt.Sprintf("recorded and replayed %s, with other details", d.Outcome)
		}
		b.Differences, b.Recorded, b.Replayed = diff(rec.Decision, replayed), rec.Decision, replayed
		v.diverge(b)
		return
	}
	if ok {
		v.rep.Verified++
		v.verifiedBy[r.hash]++
	}
}

// identities checks the ids the sagas derive for a step.
func (v *verifier) identities(base Divergence, e eventstore.RecordedEvent, sit, stepID, grantID, entryID uuid.UUID,
	d catalogue.StepDecision, leader string, r *run, parent, expired uuid.UUID) bool {
	var problems []string
	wantStep := situation.StepID(sit, d.Key)
	if stepID != wantStep {
		problems = append(problems, fmt.Sprintf("step id %s, the saga derives %s", stepID, wantStep))
	}
	if want := situation.EventID(sit, "decided/"+d.Key); e.ID != want {
		problems = append(problems, fmt.Sprintf("event id %s, the saga derives %s", e.ID, want))
	}
	var wantGrant, wantEntry uuid.UUID
	if d.Outcome == catalogue.OutcomeGranted {
		wantGrant = situation.GrantID(wantStep)
		wantEntry = situation.EntryID(wantGrant)
	}
	if grantID != wantGrant || entryID != wantEntry {
		problems = append(problems, fmt.Sprintf("grant %s and entry %s, the saga derives %s and %s", grantID, entryID, wantGrant, wantEntry))
	}
	wantParent, wantExpired := uuid.Nil, uuid.Nil
	switch leader {
	case situation.TypeDraftConfirmed:
		wantParent = r.parent
	case situation.TypeDraftExpired:
		wantExpired = r.parent
	}
	if parent != wantParent || expired != wantExpired {
		problems = append(problems, fmt.Sprintf("parent step %s and expired step %s, the batch gives %s and %s", parent, expired, wantParent, wantExpired))
	}
	if len(problems) == 0 {
		return true
	}
	b := base
	b.Kind, b.Detail = KindIdentity, strings.Join(problems, "; ")
	v.diverge(b)
	return false
}

// endRun reports the steps the replay decides that the batch lacks.
func (v *verifier) endRun() {
	r := v.run
	v.run = nil
	if r.expected == nil {
		return
	}
	for _, key := range r.order {
		if r.seen[key] {
			continue
		}
		want := r.expected[key]
		replayed, _ := jsonenc.Marshal(want)
		v.diverge(Divergence{Kind: KindMissing, Situation: r.situation, SituationKind: r.kind, Step: key, Service: want.Service,
			StepID: situation.StepID(r.situation, key), Position: r.leaderPos, Catalogue: r.catalogue, Replayed: replayed,
			Detail: fmt.Sprintf("the replay decides %s for this step; the log records no decision after %s", want.Outcome, r.leader)})
	}
}

func (v *verifier) diverge(d Divergence) { v.rep.Divergences = append(v.rep.Divergences, d) }

func (v *verifier) unverified(version, hash string, sit uuid.UUID, reason string) {
	u, ok := v.unverifiable[hash]
	if !ok {
		u = &Unverifiable{Version: version, Hash: hash, Example: sit, Reason: reason}
		v.unverifiable[hash] = u
	}
	u.Decisions++
}

// finish lists the catalogues and the unverifiable decisions.
func (v *verifier) finish() {
	uses := map[string]*CatalogueUse{}
	var order []string
	use := func(version, hash string) *CatalogueUse {
		if u, ok := uses[hash]; ok {
			return u
		}
		u := &CatalogueUse{Version: version, Hash: hash}
		uses[hash] = u
		order = append(order, hash)
		return u
	}
	for _, p := range v.published {
		use(p.version, p.hash).Published = true
	}
	for _, c := range v.cfg.Catalogues {
		use(c.Version(), c.Hash()).Supplied = true
	}
	for hash, n := range v.verifiedBy {
		uses[hash].Verified = n
	}
	for _, h := range order {
		v.rep.Catalogues = append(v.rep.Catalogues, *uses[h])
	}
	for _, u := range v.unverifiable {
		v.rep.Unverifiable = append(v.rep.Unverifiable, *u)
	}
	sort.Slice(v.rep.Unverifiable, func(i, j int) bool { return v.rep.Unverifiable[i].Version < v.rep.Unverifiable[j].Version })
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
