package sagarouter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
	"lifesituations/sagas/situations"
)

// guard bounds every wait: far above what the router needs.
const guard = 10 * time.Second

var (
	start   = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	discard = slog.New(slog.DiscardHandler)
)

// env is one data directory: an embedded store, the real register folding
// it, and routers started and stopped on it as a server would.
type env struct {
	t     testing.TB
	dir   string
	clk   *clock.Manual
	store *embedded.Store
	// sagaStore, when set, is the store the sagas use instead of store.
	sagaStore eventstore.Store
	cat       *catalogue.Catalogue
	reg       *hookedRegister
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clk: clock.NewManual(start)}
	var err error
	if e.store, err = embedded.Open(t.TempDir(), embedded.WithClock(e.clk)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close() })
	if e.cat, err = catalogue.Default(); err != nil {
		t.Fatal(err)
	}
	proj, err := register.OpenProjection(filepath.Join(e.dir, "register.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx, e.store) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("register: %v", err)
		}
		_ = proj.Close()
	})
	e.reg = &hookedRegister{Projection: proj, slow: map[string]time.Duration{}}
	return e
}

// hookedRegister is the real register, with a record of the sagas'
// WaitFor calls (one per attempt at a trigger that opens a situation) and
// hooks that delay, fail or panic them.
type hookedRegister struct {
	*register.Projection

	mu     sync.Mutex
	waits  []eventstore.Position
	before func(ctx context.Context, pos eventstore.Position) error
	panics string                   // Family of this person panics
	slow   map[string]time.Duration // Family of these persons sleeps first
}

func (r *hookedRegister) WaitFor(ctx context.Context, pos eventstore.Position) error {
	r.mu.Lock()
	r.waits = append(r.waits, pos)
	before := r.before
	r.mu.Unlock()
	if before != nil {
		if err := before(ctx, pos); err != nil {
			return err
		}
	}
	return r.Projection.WaitFor(ctx, pos)
}

func (r *hookedRegister) Family(id string) map[string]catalogue.Person {
	r.mu.Lock()
	panics, slow := r.panics == id, r.slow[id]
	r.mu.Unlock()
	if panics {
		panic("register corrupt for " + id)
	}
	time.Sleep(slow)
	return r.Projection.Family(id)
}

func (r *hookedRegister) hook(f func(*hookedRegister)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// attempts counts the WaitFor calls made for the trigger at pos; all
// counts the calls so far.
func (r *hookedRegister) attempts(pos eventstore.Position) (n, all int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.waits {
		if p == pos {
			n++
		}
	}
	return n, len(r.waits)
}

// running is a started router.
type running struct {
	*sagarouter.Router
	stop func()
}

// start runs a router with a fresh service and timers, as a restarted
// server has; stop (also at the end of the test) closes it.
func (e *env) start(cp watermillstore.Checkpoints, partitions, retries int) *running {
	e.t.Helper()
	return e.startWith(sagarouter.Config{Checkpoints: cp, Partitions: partitions, MaxRetries: retries})
}

// startWith is start with more of the configuration: Store, Service,
// Timers and Logger are the env's.
func (e *env) startWith(cfg sagarouter.Config) *running {
	e.t.Helper()
	var store eventstore.Store = e.store
	if e.sagaStore != nil {
		store = e.sagaStore
	}
	svc, err := situations.NewService(situations.Config{Store: store, Catalogue: e.cat, Register: e.reg, Clock: e.clk, Logger: discard})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Store, cfg.Service, cfg.Timers, cfg.Logger = store, svc, situations.NewTimers(svc, 24*time.Hour, nil), discard
	r, err := sagarouter.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		if err := r.Close(); err != nil {
			e.t.Errorf("close router: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("run router: %v", err)
		}
	})
	e.t.Cleanup(stop)
	select {
	case <-r.Running():
	case <-time.After(guard):
		e.t.Fatal("router not running")
	}
	return &running{Router: r, stop: stop}
}

func (e *env) settle(r *running) {
	e.t.Helper()
	e.eventually("the router to settle", func() bool {
		ok, err := r.Settled(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		return ok
	})
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// append stores one event as ingest or the calendar does.
func (e *env) append(stream, eventType string, data any) eventstore.RecordedEvent {
	e.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		e.t.Fatal(err)
	}
	id := uuid.New()
	res, err := e.store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{
		ID: id, Type: eventType, SchemaVersion: 1, Data: raw,
		Metadata: eventstore.Metadata{OccurredAt: e.clk.Now(), Source: "urn:test", CorrelationID: id.String()},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	evs, err := e.store.ReadAll(context.Background(), res.Position-1, eventstore.Filter{}, 1)
	if err != nil || len(evs) != 1 || evs[0].ID != id {
		e.t.Fatalf("read back %s: %v %v", eventType, evs, err)
	}
	return evs[0]
}

func (e *env) person(id, birthDate string) eventstore.RecordedEvent {
	return e.append("person-"+id, "person.registered", map[string]any{
		"person_id": id, "family_name": "Ivanova", "given_name": "Maria", "birth_date": birthDate, "sex": "F",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

func (e *env) birth(mother, child, date string) eventstore.RecordedEvent {
	return e.append("person-"+child, "birth.registered", map[string]any{
		"record_number": "770-" + child[:8], "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
		"birth_date": date, "sex": "M", "mother_id": mother, "region": "RU-MOW", "time_zone": "Europe/Moscow",
		"address": "Moscow, Tverskaya 1",
	})
}

func (e *env) ageReached(person string, age int, date string) eventstore.RecordedEvent {
	return e.append("person-"+person, "age.reached", map[string]any{"person_id": person, "age": age, "date": date})
}

// situationEvents is every event of every situation stream, by stream.
func (e *env) situationEvents() map[string][]eventstore.RecordedEvent {
	e.t.Helper()
	out := map[string][]eventstore.RecordedEvent{}
	var after eventstore.Position
	for {
		evs, err := e.store.ReadAll(context.Background(), after, eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}}, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, ev := range evs {
			out[ev.Stream] = append(out[ev.Stream], ev)
			after = ev.Position
		}
		if len(evs) < 1000 {
			return out
		}
	}
}

// opened is the situation the trigger opened, folded, and the position of
// its situation.opened event.
func (e *env) opened(kind string, trigger eventstore.RecordedEvent) (*situation.State, eventstore.Position) {
	e.t.Helper()
	id := situation.ID(kind, trigger.ID)
	evs, err := e.store.ReadStream(context.Background(), situation.Stream(id), 0, eventstore.Forwards, 1000)
	if err != nil {
		e.t.Fatalf("%s for trigger %s at %d: %v", kind, trigger.Type, trigger.Position, err)
	}
	st := &situation.State{}
	for _, ev := range evs {
		if err := st.Apply(ev.Type, ev.Data); err != nil {
			e.t.Fatal(err)
		}
	}
	if evs[0].Type != situation.TypeOpened {
		e.t.Fatalf("%s starts with %s", situation.Stream(id), evs[0].Type)
	}
	return st, evs[0].Position
}

func (e *env) deadLetters() []eventstore.RecordedEvent {
	e.t.Helper()
	evs, err := e.store.ReadStream(context.Background(), sagarouter.DeadLetterStream, 0, eventstore.Forwards, 1000)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) last() eventstore.Position {
	e.t.Helper()
	pos, err := e.store.LastPosition(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return pos
}

func checkBirthBundle(t *testing.T, st *situation.State, mother string, trigger eventstore.RecordedEvent) {
	t.Helper()
	if st.Opened.Kind != "birth-of-child" || st.Opened.PersonID != mother || st.Opened.Trigger.EventID != trigger.ID {
		t.Errorf("opened %s for %s by %s, want birth-of-child for %s by %s",
			st.Opened.Kind, st.Opened.PersonID, st.Opened.Trigger.EventID, mother, trigger.ID)
	}
	if len(st.Steps) != 7 {
		t.Fatalf("birth-of-child has %d steps, want 7", len(st.Steps))
	}
	for _, s := range st.Steps {
		if s.Outcome == "" {
			t.Errorf("step %s undecided", s.Decision.Service)
		}
	}
}

func newID() string { return uuid.NewString() }

func TestBirthOpensOneSituationAndSettles(t *testing.T) {
	e := newEnv(t)
	mother, child := newID(), newID()
	e.person(mother, "1994-03-01")

	// The saga is held at its register read: the birth is seen, not handled.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.reg.hook(func(r *hookedRegister) {
		r.before = func(ctx context.Context, _ eventstore.Position) error {
			once.Do(func() { close(entered) })
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	r := e.start(watermillstore.NewMemoryCheckpoints(), 4, 0)
	birth := e.birth(mother, child, "2026-02-20")
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatal("the birth never reached the saga")
	}
	for range 3 {
		if ok, err := r.Settled(context.Background()); err != nil || ok {
			t.Fatalf("settled with the birth in hand: %v %v", ok, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	close(release)
	e.settle(r)
	// Settled means handled: the situation is there without waiting more.
	sits := e.situationEvents()
	if len(sits) != 1 {
		t.Fatalf("%d situations opened, want 1: %v", len(sits), sits)
	}
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
	if n, _ := e.reg.attempts(birth.Position); n != 1 {
		t.Errorf("birth handled %d times, want 1", n)
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: %v", dl)
	}
}

func TestPoisonIsDeadLetteredAndOthersGoOn(t *testing.T) {
	const retries = 2
	e := newEnv(t)
	m1, m2, panicky := newID(), newID(), newID()
	e.person(m1, "1994-03-01")
	e.person(m2, "1990-05-10")
	e.person(panicky, "1981-03-01")
	e.reg.hook(func(r *hookedRegister) { r.panics = panicky })

	// One partition: anything that held up the poison would hold up all.
	r := e.start(watermillstore.NewMemoryCheckpoints(), 1, retries)
	// A birth with no birth date: its event date never evaluates.
	bad := e.append("person-"+newID(), "birth.registered", map[string]any{"record_number": "770-bad"})
	// A milestone whose decision panics (the register hook).
	panicking := e.ageReached(panicky, 45, "2026-03-01")
	b1 := e.birth(m1, newID(), "2026-02-20")
	b2 := e.birth(m2, newID(), "2026-02-25")
	e.settle(r)

	for _, b := range []struct {
		ev     eventstore.RecordedEvent
		mother string
	}{{b1, m1}, {b2, m2}} {
		st, _ := e.opened("birth-of-child", b.ev)
		checkBirthBundle(t, st, b.mother, b.ev)
	}

	dls := e.deadLetters()
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2: %+v", len(dls), dls)
	}
	origin := func(key string) string { return watermillstore.OriginPrefix + key }
	for i, c := range []struct {
		ev     eventstore.RecordedEvent
		reason string
	}{{bad, "event date"}, {panicking, "panic"}} {
		dl := dls[i]
		x := dl.Metadata.Extra
		if dl.Type != sagarouter.DeadLetterTypePrefix+c.ev.Type || x[origin(watermillstore.MetadataEventType)] != c.ev.Type {
			t.Errorf("dead letter %d: type %s, origin type %q; want the type of %s", i, dl.Type, x[origin(watermillstore.MetadataEventType)], c.ev.Type)
		}
		if x[origin(watermillstore.MetadataEventID)] != c.ev.ID.String() || x[origin(watermillstore.MetadataStream)] != c.ev.Stream ||
			x[origin(watermillstore.MetadataPosition)] != strconv.FormatUint(c.ev.Position, 10) {
			t.Errorf("dead letter %d does not name %s in %s at %d: %v", i, c.ev.ID, c.ev.Stream, c.ev.Position, x)
		}
		if reason := x[middleware.ReasonForPoisonedKey]; !strings.Contains(reason, c.reason) {
			t.Errorf("dead letter %d: reason %q, want it to say %q", i, reason, c.reason)
		}
		if x[middleware.PoisonedHandlerKey] != "situation-triggers-0" {
			t.Errorf("dead letter %d: handler %q", i, x[middleware.PoisonedHandlerKey])
		}
		if string(dl.Data) != string(c.ev.Data) || dl.Metadata.CausationID != c.ev.ID.String() {
			t.Errorf("dead letter %d: data %s caused by %s, want %s caused by %s", i, dl.Data, dl.Metadata.CausationID, c.ev.Data, c.ev.ID)
		}
		if n, _ := e.reg.attempts(c.ev.Position); n != retries+1 {
			t.Errorf("%s tried %d times, want %d", c.ev.Type, n, retries+1)
		}
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	e := newEnv(t)
	mother := newID()
	e.person(mother, "1981-03-01")
	r := e.start(watermillstore.NewMemoryCheckpoints(), 4, 1)
	e.birth(mother, newID(), "2026-02-20")
	e.ageReached(mother, 45, "2026-03-01")
	e.append("person-"+newID(), "birth.registered", map[string]any{"record_number": "770-bad"})
	e.settle(r)
	r.stop()
	before := e.situationEvents()
	last := e.last()
	_, handled := e.reg.attempts(0)
	if len(before) != 2 || len(e.deadLetters()) != 1 {
		t.Fatalf("first run: %d situations and %d dead letters, want 2 and 1", len(before), len(e.deadLetters()))
	}

	// Checkpoints lost: every trigger is delivered and handled again.
	r = e.start(watermillstore.NewMemoryCheckpoints(), 4, 1)
	e.settle(r)
	if _, again := e.reg.attempts(0); again < 2*handled {
		t.Fatalf("triggers handled %d times in all, want them all handled again (%d+%d)", again, handled, handled)
	}
	if got := e.last(); got != last {
		t.Errorf("redelivery appended events at %d..%d", last+1, got)
	}
	after := e.situationEvents()
	for stream, evs := range before {
		if len(after[stream]) != len(evs) {
			t.Errorf("%s: %d events, then %d after redelivery", stream, len(evs), len(after[stream]))
		}
	}
	if len(after) != len(before) || len(e.deadLetters()) != 1 {
		t.Errorf("redelivery: %d situations and %d dead letters, want %d and 1", len(after), len(e.deadLetters()), len(before))
	}
}

func TestRestartWithCheckpointsSettlesWithoutRedelivery(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "checkpoints.db")
	openCheckpoints := func() *watermillstore.BoltCheckpoints {
		cp, err := watermillstore.OpenBoltCheckpoints(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Close() })
		return cp
	}
	mother := newID()
	e.person(mother, "1994-03-01")
	cp := openCheckpoints()
	r := e.start(cp, 4, 0)
	e.birth(mother, newID(), "2026-02-20")
	e.settle(r)
	r.stop()
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	_, handled := e.reg.attempts(0)

	r = e.start(openCheckpoints(), 4, 0)
	e.settle(r)
	if _, all := e.reg.attempts(0); all != handled {
		t.Fatalf("restart handled %d triggers again", all-handled)
	}
	// It still handles what comes next.
	birth := e.birth(mother, newID(), "2026-02-27")
	e.settle(r)
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
}

func TestTriggersOfOnePersonAreHandledInLogOrder(t *testing.T) {
	const partitions = 4
	e := newEnv(t)
	mother := newID()
	// Twins in streams of their own that, partitioned by stream rather than
	// by mother, would be decided in three different partitions at once.
	used := map[int]bool{watermillstore.PartitionOf("person-"+mother, partitions): true}
	child := func() string {
		for {
			id := newID()
			if p := watermillstore.PartitionOf("person-"+id, partitions); !used[p] {
				used[p] = true
				return id
			}
		}
	}
	c1, c2 := child(), child()
	e.person(mother, "1981-03-01")
	triggers := []eventstore.RecordedEvent{
		e.birth(mother, c1, "2026-02-20"),
		e.birth(mother, c2, "2026-02-20"),
		e.ageReached(mother, 45, "2026-03-01"),
	}
	// The first twin's decision is slow: the others must wait for it.
	e.reg.hook(func(r *hookedRegister) { r.slow[c1] = 300 * time.Millisecond })
	r := e.start(watermillstore.NewMemoryCheckpoints(), partitions, 0)
	e.settle(r)

	kinds := []string{"birth-of-child", "birth-of-child", "age-milestone"}
	var prev eventstore.Position
	for i, tr := range triggers {
		_, pos := e.opened(kinds[i], tr)
		if pos <= prev {
			t.Errorf("trigger %d (%s at %d) opened its situation at %d, before trigger %d's at %d",
				i, tr.Type, tr.Position, pos, i-1, prev)
		}
		prev = pos
	}
}

func TestStopWhileHandlingNeitherDeadLettersNorSkips(t *testing.T) {
	e := newEnv(t)
	mother := newID()
	e.person(mother, "1994-03-01")
	// The register lags: the saga waits for it until the router stops.
	entered := make(chan struct{})
	var once sync.Once
	e.reg.hook(func(r *hookedRegister) {
		r.before = func(ctx context.Context, _ eventstore.Position) error {
			once.Do(func() { close(entered) })
			<-ctx.Done()
			return fmt.Errorf("register lagging: %w", ctx.Err())
		}
	})
	cp := watermillstore.NewMemoryCheckpoints()
	r := e.start(cp, 2, 0)
	birth := e.birth(mother, newID(), "2026-02-20")
	select {
	case <-entered:
	case <-time.After(guard):
		t.Fatal("the birth never reached the saga")
	}
	r.stop()
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Fatalf("stopping dead-lettered a sound trigger: %+v", dl)
	}

	e.reg.hook(func(r *hookedRegister) { r.before = nil })
	r = e.start(cp, 2, 0)
	e.settle(r)
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
}

func TestOverloadIsRetriedNotDeadLettered(t *testing.T) {
	e := newEnv(t)
	mother := newID()
	e.person(mother, "1994-03-01")
	// More failures than the retries: the event must wait for the store,
	// not be given up.
	failures := 5
	e.reg.hook(func(r *hookedRegister) {
		r.before = func(context.Context, eventstore.Position) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			if failures == 0 {
				return nil
			}
			failures--
			return fmt.Errorf("append: %w", eventstore.ErrOverloaded)
		}
	})
	r := e.start(watermillstore.NewMemoryCheckpoints(), 1, 1)
	birth := e.birth(mother, newID(), "2026-02-20")
	e.settle(r)
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Fatalf("an overloaded store dead-lettered a sound trigger: %+v", dl)
	}
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
}

// The decisions' appends do not wait for their sync, and a partition's
// checkpoint is saved only once they are synced: a crash never leaves a
// trigger counted as handled with its decisions lost.
func TestCheckpointWaitsForTheDecisionsSync(t *testing.T) {
	e := newEnv(t)
	spy := &syncSpy{Store: e.store}
	e.sagaStore = spy
	mother := newID()
	e.person(mother, "1994-03-01")
	cp := &checkedSaves{Checkpoints: watermillstore.NewMemoryCheckpoints(), spy: spy}
	r := e.start(cp, 1, 0)
	cp.after.Store(e.birth(mother, newID(), "2026-02-20").Position)
	e.eventually("a checkpoint past the birth", func() bool { return cp.checked.Load() > 0 })
	r.stop()
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if spy.deferred == 0 {
		t.Fatal("the decisions were appended without deferring their sync")
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.early) > 0 {
		t.Fatalf("checkpoints saved before the decisions were synced: %v", cp.early)
	}
}

// syncSpy counts the deferred appends that returned and how many of them a
// Sync had covered when it returned.
type syncSpy struct {
	*embedded.Store
	mu               sync.Mutex
	deferred, synced int
}

func (s *syncSpy) count(ctx context.Context, err error) {
	if err == nil && eventstore.DeferredSync(ctx) {
		s.mu.Lock()
		s.deferred++
		s.mu.Unlock()
	}
}

func (s *syncSpy) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	res, err := s.Store.Append(ctx, stream, expected, events...)
	s.count(ctx, err)
	return res, err
}

func (s *syncSpy) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	res, err := s.Store.AppendMany(ctx, appends)
	s.count(ctx, err)
	return res, err
}

func (s *syncSpy) Sync(ctx context.Context) error {
	s.mu.Lock()
	n := s.deferred
	s.mu.Unlock()
	if err := s.Store.Sync(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.synced = max(s.synced, n)
	s.mu.Unlock()
	return nil
}

// checkedSaves notes every checkpoint saved past position after while
// appends that returned were not yet synced.
type checkedSaves struct {
	watermillstore.Checkpoints
	spy     *syncSpy
	after   atomic.Uint64
	checked atomic.Int64
	mu      sync.Mutex
	early   []string
}

func (c *checkedSaves) Save(ctx context.Context, key string, pos eventstore.Position) error {
	if after := c.after.Load(); after > 0 && pos >= after {
		c.spy.mu.Lock()
		deferred, synced := c.spy.deferred, c.spy.synced
		c.spy.mu.Unlock()
		if synced < deferred {
			c.mu.Lock()
			c.early = append(c.early, fmt.Sprintf("%d with %d of %d appends synced", pos, synced, deferred))
			c.mu.Unlock()
		}
		c.checked.Add(1)
	}
	return c.Checkpoints.Save(ctx, key, pos)
}
