package esdb

// These tests run the adapter against the in-process double of
// EventStoreDB (esdbdouble). They check the adapter's own mapping and
// protocols; they are no substitute for the contract suite against a real
// server (TestContractRealServer).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

func openStore(t *testing.T, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newEvent(typ string, n int) eventstore.Event {
	data, _ := json.Marshal(map[string]int{"n": n})
	return eventstore.Event{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{OccurredAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Source: "test"},
	}
}

func ids(evs ...eventstore.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID.String()
	}
	return out
}

func mustAppend(t *testing.T, s *Store, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.Event) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func wantStream(t *testing.T, d *esdbdouble.Double, stream string, want []string) {
	t.Helper()
	if got := d.StreamEventIDs(stream); !slices.Equal(got, want) {
		t.Fatalf("%s holds %v, want %v", stream, got, want)
	}
}

// rawAppend appends through the client library alone, retrying while the
// double restarts.
func rawAppend(t *testing.T, c *esdbclient.Client, stream string, id uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.AppendToStream(t.Context(), stream, esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}},
			esdbclient.EventData{EventID: id, EventType: "control", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("raw append to %s: %v", stream, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventIDIdempotencyIsDurable shows that EventStoreDB's own
// deduplication of an append expecting any revision is a window in memory
// (emulated by the double, which forgets it on restart, as the server
// does), and that the adapter's markers keep an event id stored across a
// restart.
func TestEventIDIdempotencyIsDurable(t *testing.T) {
	d := startDouble(t)

	conf, err := esdbclient.ParseConnectionString(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdbclient.NoopLogging()
	raw, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	x := uuid.New()
	rawAppend(t, raw, "control-1", x)
	rawAppend(t, raw, "control-1", x)
	wantStream(t, d, "control-1", []string{x.String()}) // the window at work

	s := openStore(t, d.URL())
	e := newEvent("person.born", 1)
	first := mustAppend(t, s, "person-1", eventstore.NoStream, e)
	_ = s.Close()

	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	rawAppend(t, raw, "control-1", x)
	wantStream(t, d, "control-1", []string{x.String(), x.String()}) // the window is gone

	s2 := openStore(t, d.URL())
	for _, exp := range []eventstore.ExpectedRevision{eventstore.Any, eventstore.NoStream, eventstore.Exact(5)} {
		res := mustAppend(t, s2, "person-1", exp, e)
		if want := (eventstore.AppendResult{NextRevision: 0, Position: first.Position, Duplicates: 1}); res != want {
			t.Fatalf("retry after restart expecting %s: %+v, want %+v", exp, res, want)
		}
	}
	wantStream(t, d, "person-1", ids(e))
}

// TestLostAcknowledgement: the server writes, the client hears an error;
// the retry finds the events stored.
func TestLostAcknowledgement(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	e1, e2 := newEvent("person.born", 1), newEvent("person.moved", 2)
	d.InjectAppendFault(func(st string) bool { return st == "person-2" }, esdbdouble.FailAfterWrite, 1)
	if _, err := s.Append(t.Context(), "person-2", eventstore.NoStream, e1, e2); err == nil {
		t.Fatal("append with a lost acknowledgement succeeded")
	}
	res := mustAppend(t, s, "person-2", eventstore.NoStream, e1, e2)
	if res.Duplicates != 2 || res.NextRevision != 1 {
		t.Fatalf("retry: %+v, want 2 duplicates at revision 1", res)
	}
	wantStream(t, d, "person-2", ids(e1, e2))
}

// TestCrashBetweenIntentAndWrite covers an append that wrote its intents
// and then failed before the server took its events.
func TestCrashBetweenIntentAndWrite(t *testing.T) {
	d := startDouble(t)
	ctx := t.Context()

	t.Run("RetryWritesOnce", func(t *testing.T) {
		s := openStore(t, d.URL())
		e := newEvent("person.born", 1)
		d.InjectAppendFault(func(st string) bool { return st == "person-3" }, esdbdouble.FailBeforeWrite, 1)
		if _, err := s.Append(ctx, "person-3", eventstore.NoStream, e); err == nil {
			t.Fatal("failed append succeeded")
		}
		if n := len(d.StreamEventIDs(markerStream(e.ID))); n != 1 {
			t.Fatalf("marker holds %d intents, want 1", n)
		}
		if res := mustAppend(t, s, "person-3", eventstore.NoStream, e); res.Duplicates != 0 {
			t.Fatalf("retry: %+v, want the event written", res)
		}
		mustAppend(t, s, "person-3", eventstore.Any, e)
		wantStream(t, d, "person-3", ids(e))
	})

	t.Run("SlotTakenByAnother", func(t *testing.T) {
		s := openStore(t, d.URL())
		x, y := newEvent("person.born", 1), newEvent("person.moved", 2)
		d.InjectAppendFault(func(st string) bool { return st == "person-4" }, esdbdouble.FailBeforeWrite, 1)
		if _, err := s.Append(ctx, "person-4", eventstore.Any, x); err == nil {
			t.Fatal("failed append succeeded")
		}
		mustAppend(t, s, "person-4", eventstore.Any, y)
		if res := mustAppend(t, s, "person-4", eventstore.Any, x); res.Duplicates != 0 || res.NextRevision != 1 {
			t.Fatalf("append after the dead intent: %+v, want written at 1", res)
		}
		wantStream(t, d, "person-4", ids(y, x))
	})

	t.Run("IntentForAnotherStream", func(t *testing.T) {
		// The write window is generous: a slow run (the race detector)
		// must not miss it on every attempt.
		const settle = 600 * time.Millisecond
		s := openStore(t, d.URL(), WithIntentTimings(300*time.Millisecond, settle))
		z := newEvent("person.born", 1)
		d.InjectAppendFault(func(st string) bool { return st == "person-5" }, esdbdouble.FailBeforeWrite, 1)
		if _, err := s.Append(ctx, "person-5", eventstore.Any, z); err == nil {
			t.Fatal("failed append succeeded")
		}
		start := time.Now()
		if res := mustAppend(t, s, "person-6", eventstore.Any, z); res.Duplicates != 0 {
			t.Fatalf("append to the other stream: %+v, want written", res)
		}
		if waited := time.Since(start); waited < settle {
			t.Fatalf("wrote after %s, before the intent for person-5 could be taken for dead (%s)", waited, settle)
		}
		if res := mustAppend(t, s, "person-5", eventstore.Any, z); res.Duplicates != 1 {
			t.Fatalf("append to the first stream again: %+v, want a duplicate", res)
		}
		wantStream(t, d, "person-6", ids(z))
		wantStream(t, d, "person-5", nil)
	})
}

// TestConcurrentStoresSameEvents: two stores (as two processes would)
// append the same and overlapping batches at once; each event is stored
// once.
func TestConcurrentStoresSameEvents(t *testing.T) {
	d := startDouble(t)
	stores := []*Store{openStore(t, d.URL()), openStore(t, d.URL())}
	a, b, c := newEvent("situation.step", 1), newEvent("situation.step", 2), newEvent("situation.step", 3)
	batches := [][]eventstore.Event{{a, b, c}, {a, b}, {b, c}, {a, c}, {c}}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			if _, err := stores[i%2].Append(t.Context(), "situation-1", eventstore.Any, batches[i%len(batches)]...); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := d.StreamEventIDs("situation-1")
	if len(got) != 3 || !slices.Contains(got, a.ID.String()) || !slices.Contains(got, b.ID.String()) || !slices.Contains(got, c.ID.String()) {
		t.Fatalf("situation-1 holds %v, want a, b and c once each", got)
	}
}

// TestPositionsAreDenseOrdinals shows the mapping of positions: on the
// server they are sparse byte offsets with system events and markers in
// between; through the adapter they are 1, 2, 3, ... for the store's
// events, and a store opened later numbers them the same.
func TestPositionsAreDenseOrdinals(t *testing.T) {
	d := startDouble(t, esdbdouble.WithSystemEvents(1))
	s := openStore(t, d.URL())
	var appended []eventstore.Event
	for i := range 12 {
		e := newEvent("person.moved", i)
		mustAppend(t, s, fmt.Sprintf("person-%d", i%3), eventstore.Any, e)
		appended = append(appended, e)
	}

	raw, err := s.readAllPage(t.Context(), esdbclient.Start{}, esdbclient.Forwards, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var commits []uint64
	others := 0
	for _, ev := range raw {
		re := ev.OriginalEvent()
		if isPortEvent(re.StreamID, re.EventType) {
			commits = append(commits, re.Position.Commit)
		} else {
			others++
		}
	}
	if len(commits) != 12 || others < 12 {
		t.Fatalf("$all holds %d events of the store and %d others, want 12 and at least 12 (markers, system events)", len(commits), others)
	}
	if commits[1]-commits[0] <= 1 {
		t.Fatalf("the double's positions are not sparse: %v", commits)
	}

	check := func(s *Store) {
		t.Helper()
		all, err := s.ReadAll(t.Context(), 0, eventstore.Filter{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range all {
			if ev.Position != uint64(i+1) || ev.ID != appended[i].ID {
				t.Fatalf("event %d: %s at position %d, want %s at %d", i, ev.ID, ev.Position, appended[i].ID, i+1)
			}
		}
		if last, err := s.LastPosition(t.Context()); err != nil || last != 12 {
			t.Fatalf("last position %d (%v), want 12", last, err)
		}
		evs, err := s.ReadStream(t.Context(), "person-1", 0, eventstore.Forwards, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			if want := uint64(3*i + 2); ev.Position != want {
				t.Fatalf("person-1@%d at position %d, want %d", i, ev.Position, want)
			}
		}
	}
	check(s)
	check(openStore(t, d.URL()))
	check(openStore(t, d.URL(), withIndexSizes(2, 2)))
}

// TestSubscribeFiltersOnServer shows that a subscription's filter is
// applied by the server: the double sends the subscription only the
// events that pass it.
func TestSubscribeFiltersOnServer(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	for i := range 30 {
		mustAppend(t, s, fmt.Sprintf("situation-%d", i), eventstore.Any, newEvent("situation.started", i))
	}
	want := []eventstore.Event{newEvent("person.born", 1), newEvent("person.moved", 2)}
	mustAppend(t, s, "person-1", eventstore.Any, want...)
	if _, err := s.LastPosition(t.Context()); err != nil { // the index has caught up
		t.Fatal(err)
	}

	for _, f := range []eventstore.Filter{
		{StreamPrefixes: []string{"person-"}},
		{TypePrefixes: []string{"person."}},
	} {
		before := d.Stats().SubscriptionEvents
		var got []eventstore.RecordedEvent
		errStop := errors.New("stop")
		err := s.SubscribeAll(t.Context(), 0, f, func(ev eventstore.RecordedEvent) error {
			got = append(got, ev)
			if len(got) == len(want) {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("filter %+v: subscription returned %v", f, err)
		}
		if got[0].ID != want[0].ID || got[1].ID != want[1].ID || got[0].Position != 31 || got[1].Position != 32 {
			t.Fatalf("filter %+v: delivered %+v", f, got)
		}
		if sent := d.Stats().SubscriptionEvents - before; sent != 2 {
			t.Fatalf("filter %+v: the server sent the subscription %d events, want the 2 that pass", f, sent)
		}
	}
}

// TestSubscriptionSurvivesServerRestart: a live subscription whose
// connection drops subscribes again from the last event it delivered.
func TestSubscriptionSurvivesServerRestart(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	rec := recordAll(t, s)
	seen := rec.seen
	appendRetrying := func(i int) {
		appendUntil(t, s, "person-1", eventstore.Any, newEvent("person.moved", i))
	}
	for i := range 5 {
		appendRetrying(i)
		<-seen
	}
	subscribed := d.Stats().Subscriptions
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		appendRetrying(i) // a retry after the restart is idempotent
	}
	for range 5 {
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			t.Fatal("the subscription did not resume after the restart")
		}
	}
	if again := d.Stats().Subscriptions - subscribed; again < 2 {
		t.Fatalf("%d subscriptions started after the restart, want 2 (the index's and this one's)", again)
	}
	got := rec.stop()
	for i, ev := range got {
		if ev.Position != uint64(i+1) || ev.Revision != uint64(i) {
			t.Fatalf("delivered %d: position %d revision %d", i, ev.Position, ev.Revision)
		}
	}
	if len(got) != 10 {
		t.Fatalf("delivered %d events, want 10", len(got))
	}
}

// TestPersistentPinned: two workers of one persistent subscription group
// to $all split the streams between them (each stream's events go to one
// worker, in order); when one stops, the other takes over.
func TestPersistentPinned(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	const group = "saga-workers"
	filter := eventstore.Filter{StreamPrefixes: []string{"person-"}}

	type delivery struct {
		worker string
		ev     eventstore.RecordedEvent
	}
	deliveries := make(chan delivery, 1000)
	type worker struct {
		cancel context.CancelFunc
		done   chan error
	}
	start := func(name string, fail func(eventstore.RecordedEvent) bool) worker {
		ctx, cancel := context.WithCancel(t.Context())
		w := worker{cancel: cancel, done: make(chan error, 1)}
		go func() {
			w.done <- s.SubscribePersistent(ctx, group, filter, func(ev eventstore.RecordedEvent) error {
				if fail != nil && fail(ev) {
					return fmt.Errorf("%s refuses %s", name, ev.ID)
				}
				deliveries <- delivery{name, ev}
				return nil
			}, WithBufferSize(4))
		}()
		t.Cleanup(func() { cancel(); <-w.done })
		return w
	}
	waitConsumers := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for d.PersistentConsumers(group) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d consumers connected, want %d", d.PersistentConsumers(group), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	appendRound := func(round int) map[uuid.UUID]bool {
		want := map[uuid.UUID]bool{}
		for p := range 20 {
			e := newEvent("person.moved", round)
			mustAppend(t, s, fmt.Sprintf("person-%d", p), eventstore.Any, e)
			want[e.ID] = true
			mustAppend(t, s, fmt.Sprintf("situation-%d", p), eventstore.Any, newEvent("situation.step", round))
		}
		return want
	}
	collect := func(want map[uuid.UUID]bool) []delivery {
		t.Helper()
		var got []delivery
		for len(want) > 0 {
			select {
			case dl := <-deliveries:
				got = append(got, dl)
				delete(want, dl.ev.ID)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d events never delivered", len(want))
			}
		}
		return got
	}

	a := start("a", nil)
	waitConsumers(1)
	start("b", nil)
	waitConsumers(2)
	var got []delivery
	for round := range 3 {
		got = append(got, collect(appendRound(round))...)
	}
	owner := map[string]string{}
	last := map[string]uint64{}
	workers := map[string]bool{}
	for _, dl := range got {
		workers[dl.worker] = true
		if o, ok := owner[dl.ev.Stream]; ok && o != dl.worker {
			t.Fatalf("%s went to %s and to %s", dl.ev.Stream, o, dl.worker)
		}
		owner[dl.ev.Stream] = dl.worker
		if r, ok := last[dl.ev.Stream]; ok && dl.ev.Revision <= r {
			t.Fatalf("%s: revision %d after %d", dl.ev.Stream, dl.ev.Revision, r)
		}
		last[dl.ev.Stream] = dl.ev.Revision
		if !strings.HasPrefix(dl.ev.Stream, "person-") {
			t.Fatalf("delivered %s, which the filter leaves out", dl.ev.Stream)
		}
	}
	if len(workers) != 2 {
		t.Fatalf("workers that got events: %v, want both", workers)
	}

	a.cancel()
	if err := <-a.done; !errors.Is(err, context.Canceled) {
		t.Fatalf("worker a returned %v", err)
	}
	a.done <- nil // for the cleanup
	waitConsumers(1)
	for _, dl := range collect(appendRound(3)) {
		if dl.worker != "b" {
			t.Fatalf("after a stopped, %s went to %s", dl.ev.Stream, dl.worker)
		}
	}

	// A handler that fails: the event is nacked, the worker stops with the
	// error, and the event comes again to the next worker.
	refused := make(chan uuid.UUID, 1)
	c := start("c", func(ev eventstore.RecordedEvent) bool {
		select {
		case refused <- ev.ID:
			return true
		default:
			return false
		}
	})
	waitConsumers(2)
	want := appendRound(4)
	var cerr error
	select {
	case cerr = <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("worker c never saw an event")
	}
	c.done <- nil
	if cerr == nil || !strings.Contains(cerr.Error(), "refuses") {
		t.Fatalf("worker c returned %v, want its handler's error", cerr)
	}
	id := <-refused
	if !want[id] {
		t.Fatalf("refused %s, not an event of the round", id)
	}
	collect(want) // every event, the refused one included, is delivered
}

// TestClusterConnectionString connects with several hosts, which makes
// the client read gossip to find the leader.
func TestClusterConnectionString(t *testing.T) {
	d := startDouble(t)
	url := fmt.Sprintf("esdb://%s,%s?tls=false", d.Addr(), d.Addr())
	s := openStore(t, url)
	e := newEvent("person.born", 1)
	mustAppend(t, s, "person-1", eventstore.NoStream, e)
	evs, err := s.ReadStream(t.Context(), "person-1", 0, eventstore.Forwards, 10)
	if err != nil || len(evs) != 1 || evs[0].ID != e.ID {
		t.Fatalf("read back %v (%v)", evs, err)
	}
}

func TestRefusesReservedNames(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	for _, stream := range []string{"", "$users", MarkerStreamPrefix + uuid.NewString()} {
		if _, err := s.Append(t.Context(), stream, eventstore.Any, newEvent("x", 1)); !errors.Is(err, ErrInvalidStream) {
			t.Errorf("append to %q: err = %v, want ErrInvalidStream", stream, err)
		}
	}
	bad := newEvent("$metadata", 1)
	if _, err := s.Append(t.Context(), "person-1", eventstore.Any, bad); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("append of a $ type: err = %v, want ErrInvalidEvent", err)
	}
}

// TestAppendManyChecksBeforeWriting: a stale expectation on any part
// fails the request before a part is written; a failure while writing
// leaves a prefix that a retry completes.
func TestAppendManyChecksBeforeWriting(t *testing.T) {
	d := startDouble(t)
	s := openStore(t, d.URL())
	ctx := t.Context()
	mustAppend(t, s, "situation-1", eventstore.NoStream, newEvent("situation.started", 0))

	good := eventstore.StreamAppend{Stream: "person-1", Expected: eventstore.NoStream, Events: []eventstore.Event{newEvent("person.born", 1)}}
	bad := eventstore.StreamAppend{Stream: "situation-1", Expected: eventstore.Exact(5), Events: []eventstore.Event{newEvent("situation.step", 1)}}
	if _, err := s.AppendMany(ctx, []eventstore.StreamAppend{good, bad}); !errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		t.Fatalf("append many with a stale expectation last: err = %v", err)
	}
	wantStream(t, d, "person-1", nil)

	// The same stream twice: the second part is checked against what the
	// first would leave.
	twice := []eventstore.StreamAppend{
		good,
		{Stream: "person-1", Expected: eventstore.Exact(0), Events: []eventstore.Event{newEvent("person.moved", 2)}},
	}
	if _, err := s.AppendMany(ctx, twice); err != nil {
		t.Fatalf("append many to one stream twice: %v", err)
	}
	wantStream(t, d, "person-1", ids(twice[0].Events[0], twice[1].Events[0]))

	second := eventstore.StreamAppend{Stream: "situation-1", Expected: eventstore.Exact(0), Events: []eventstore.Event{newEvent("situation.step", 2)}}
	first := eventstore.StreamAppend{Stream: "person-2", Expected: eventstore.NoStream, Events: []eventstore.Event{newEvent("person.born", 3)}}
	d.InjectAppendFault(func(st string) bool { return st == "situation-1" }, esdbdouble.FailBeforeWrite, 1)
	if _, err := s.AppendMany(ctx, []eventstore.StreamAppend{first, second}); err == nil {
		t.Fatal("append many with a failing part succeeded")
	}
	wantStream(t, d, "person-2", ids(first.Events...)) // the prefix stays
	res, err := s.AppendMany(ctx, []eventstore.StreamAppend{first, second})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res[0].Duplicates != 1 || res[1].Duplicates != 0 || res[1].NextRevision != 1 {
		t.Fatalf("retry: %+v", res)
	}
}

func TestOpenFailsWithoutServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := Open(ctx, "esdb://127.0.0.1:1?tls=false", WithLogger(quiet)); err == nil {
		t.Fatal("open with no server succeeded")
	}
	if _, err := Open(ctx, "http://nowhere", WithLogger(quiet)); err == nil {
		t.Fatal("open with a bad connection string succeeded")
	}
}

// TestRecordedAt: the server's stamp by default, the store's clock when
// it has one.
func TestRecordedAt(t *testing.T) {
	d := startDouble(t)
	before := time.Now().Add(-time.Second)
	s := openStore(t, d.URL())
	mustAppend(t, s, "person-1", eventstore.Any, newEvent("person.born", 1))
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.FixedZone("", 3600))
	sc := openStore(t, d.URL(), WithClock(clock.Func(func() time.Time { return at })))
	mustAppend(t, sc, "person-2", eventstore.Any, newEvent("person.born", 2))

	evs, err := s.ReadAll(t.Context(), 0, eventstore.Filter{}, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("read all: %d events (%v)", len(evs), err)
	}
	if got := evs[0].Metadata.RecordedAt; got.Before(before) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("server-stamped recorded_at %s, want about now", got)
	}
	if got := evs[1].Metadata.RecordedAt; !got.Equal(at) {
		t.Errorf("clock-stamped recorded_at %s, want %s", got, at)
	}
}

// TestOutageLongerThanDiscovery: the server is unreachable for longer than
// the client library tries to discover it, so the library gives its client
// up for good; the store starts a new one, appends work again once the
// server is back, and a live subscription resumes without a gap.
func TestOutageLongerThanDiscovery(t *testing.T) {
	d := startDouble(t)
	logs := &syncBuffer{}
	s := openStore(t, d.URL()+"&maxDiscoverAttempts=2&discoveryInterval=20", WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	rec := recordAll(t, s)
	seen := rec.seen
	e1, e2, e3 := newEvent("person.born", 1), newEvent("person.moved", 2), newEvent("person.moved", 3)
	mustAppend(t, s, "person-1", eventstore.NoStream, e1)
	<-seen

	if err := d.Down(); err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(t.Context(), 5*time.Second)
	_, err := s.Append(actx, "person-1", eventstore.Exact(0), e2)
	acancel()
	if err == nil {
		t.Fatal("append during the outage succeeded")
	}
	time.Sleep(200 * time.Millisecond) // the subscription fails to come back meanwhile
	if err := d.Up(); err != nil {
		t.Fatal(err)
	}
	res := appendUntil(t, s, "person-1", eventstore.Exact(0), e2)
	if res.NextRevision != 1 || res.Position != 2 {
		t.Fatalf("append after the outage: %+v, want revision 1 at position 2", res)
	}
	mustAppend(t, s, "person-1", eventstore.Exact(1), e3)
	for range 2 {
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			t.Fatal("the subscription did not resume after the outage")
		}
	}
	got := rec.stop()
	if len(got) != 3 || got[0].ID != e1.ID || got[1].ID != e2.ID || got[2].ID != e3.ID || got[2].Position != 3 {
		t.Fatalf("delivered %v", got)
	}
	wantStream(t, d, "person-1", ids(e1, e2, e3))
	if !strings.Contains(logs.String(), "gave its connection up") {
		t.Fatalf("the client library never gave up during the outage; log:\n%s", logs)
	}
}

// recording is a subscription to the whole log keeping what it delivers;
// seen ticks once per event.
type recording struct {
	t      *testing.T
	seen   chan struct{}
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	got    []eventstore.RecordedEvent
}

func recordAll(t *testing.T, s *Store) *recording {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &recording{t: t, seen: make(chan struct{}, 100), cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- s.SubscribeAll(ctx, 0, eventstore.Filter{}, func(ev eventstore.RecordedEvent) error {
			r.mu.Lock()
			r.got = append(r.got, ev)
			r.mu.Unlock()
			r.seen <- struct{}{}
			return nil
		})
	}()
	return r
}

// stop ends the subscription, which must end by its cancellation, and
// returns what it delivered.
func (r *recording) stop() []eventstore.RecordedEvent {
	r.t.Helper()
	r.cancel()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		r.t.Fatalf("subscription returned %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

// appendUntil appends, retrying for up to 10 s while the server is away.
func appendUntil(t *testing.T, s *Store, stream string, exp eventstore.ExpectedRevision, e eventstore.Event) eventstore.AppendResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := s.Append(t.Context(), stream, exp, e)
		if err == nil {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("append of %s to %s never succeeded: %v", e.ID, stream, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestWhatIsTheStores(t *testing.T) {
	for _, tc := range []struct {
		stream, typ string
		want        bool
	}{
		{"person-1", "person.born", true},
		{"$users", "$UserCreated", false},
		{"$settings", "update-default-acl", false},
		{"$ce-person", "$>", false},
		{"person-1", "$metadata", false},
		{MarkerStreamPrefix + uuid.NewString(), markerType, false},
		{"person-1", "", false},
	} {
		if got := isPortEvent(tc.stream, tc.typ); got != tc.want {
			t.Errorf("isPortEvent(%q, %q) = %v, want %v", tc.stream, tc.typ, got, tc.want)
		}
	}
	for _, tc := range []struct {
		f    eventstore.Filter
		want esdbclient.SubscriptionFilter
	}{
		{eventstore.Filter{}, *esdbclient.ExcludeSystemEventsFilter()},
		{eventstore.Filter{StreamPrefixes: []string{"person-"}, TypePrefixes: []string{"person.moved"}},
			esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{"person-"}}},
		{eventstore.Filter{TypePrefixes: []string{"person."}},
			esdbclient.SubscriptionFilter{Type: esdbclient.EventFilterType, Prefixes: []string{"person."}}},
	} {
		got := serverFilter(tc.f)
		if got.Type != tc.want.Type || got.Regex != tc.want.Regex || !slices.Equal(got.Prefixes, tc.want.Prefixes) {
			t.Errorf("serverFilter(%+v) = %+v, want %+v", tc.f, *got, tc.want)
		}
	}
}
