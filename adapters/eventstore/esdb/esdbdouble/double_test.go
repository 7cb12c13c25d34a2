package esdbdouble_test

// These tests hold the double to the server behaviour the adapter relies
// on, as the client library sees it. They describe the double; whether
// EventStoreDB behaves so is for the contract suite against a real server.

import (
	"errors"
	"io"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
)

// start starts a double for the test and a client of it; both are closed
// at the test's end.
func start(t *testing.T) (*esdbdouble.Double, *esdbclient.Client) {
	t.Helper()
	d, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, client(t, d)
}

func client(t *testing.T, d *esdbdouble.Double) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(d.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ev(id uuid.UUID) esdbclient.EventData {
	return esdbclient.EventData{EventID: id, EventType: "t", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)}
}

func isWrongVersion(err error) bool {
	var e *esdbclient.Error
	return errors.As(err, &e) && e.Code() == esdbclient.ErrorCodeWrongExpectedVersion
}

func TestExpectedRevisions(t *testing.T) {
	d, c := start(t)
	ctx := t.Context()
	app := func(stream string, exp esdbclient.ExpectedRevision, ids ...uuid.UUID) (*esdbclient.WriteResult, error) {
		evs := make([]esdbclient.EventData, len(ids))
		for i, id := range ids {
			evs[i] = ev(id)
		}
		return c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	}
	a, b, x := uuid.New(), uuid.New(), uuid.New()

	if _, err := app("s", esdbclient.StreamExists{}, a); !isWrongVersion(err) {
		t.Fatalf("stream exists on a missing stream: %v", err)
	}
	if _, err := app("s", esdbclient.Revision(0), a); !isWrongVersion(err) {
		t.Fatalf("revision 0 on a missing stream: %v", err)
	}
	w, err := app("s", esdbclient.NoStream{}, a, b)
	if err != nil || w.NextExpectedVersion != 1 {
		t.Fatalf("no stream: %+v %v", w, err)
	}
	// The same ids at the same expectation: idempotent, nothing written.
	if w, err := app("s", esdbclient.NoStream{}, a, b); err != nil || w.NextExpectedVersion != 1 {
		t.Fatalf("retry: %+v %v", w, err)
	}
	// Partly the same: a conflict.
	if _, err := app("s", esdbclient.NoStream{}, a, x); !isWrongVersion(err) {
		t.Fatalf("partial retry: %v", err)
	}
	if _, err := app("s", esdbclient.Revision(0), x); !isWrongVersion(err) {
		t.Fatalf("stale revision: %v", err)
	}
	if w, err := app("s", esdbclient.Revision(1), x); err != nil || w.NextExpectedVersion != 2 {
		t.Fatalf("exact revision: %+v %v", w, err)
	}
	if got := d.StreamEventIDs("s"); len(got) != 3 {
		t.Fatalf("stream holds %v", got)
	}

	// Backwards from the end, and a missing stream.
	rs, err := c.ReadStream(ctx, "s", esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var revs []uint64
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, e.OriginalEvent().EventNumber)
	}
	rs.Close()
	if len(revs) != 2 || revs[0] != 2 || revs[1] != 1 {
		t.Fatalf("backwards from the end: revisions %v", revs)
	}
	rs, err = c.ReadStream(ctx, "missing", esdbclient.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var e *esdbclient.Error
	if _, err := rs.Recv(); !errors.As(err, &e) || e.Code() != esdbclient.ErrorCodeResourceNotFound {
		t.Fatalf("missing stream: %v", err)
	}
	rs.Close()

	// $all: system events first, then the stream's, at sparse positions
	// shared by the events of one append (commit) and told apart by prepare.
	rs, err = c.ReadAll(ctx, esdbclient.ReadAllOptions{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var all []*esdbclient.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e.OriginalEvent())
	}
	rs.Close()
	if len(all) != 6 || all[0].StreamID[0] != '$' {
		t.Fatalf("$all holds %d events, first in %s", len(all), all[0].StreamID)
	}
	ea, eb := all[3].Position, all[4].Position
	if ea.Commit != eb.Commit || ea.Prepare >= eb.Prepare || eb.Prepare-ea.Prepare <= 1 {
		t.Fatalf("positions of one append: %+v, %+v", ea, eb)
	}
}

// TestPersistentBacklog: a group's backlog counts what it has not had
// acknowledged (not yet delivered, or in flight), a nacked event comes back
// into it, and it is 0 once every event is acknowledged.
func TestPersistentBacklog(t *testing.T) {
	d, c := start(t)
	ctx := t.Context()
	settings := esdbclient.SubscriptionSettingsDefault()
	settings.ConsumerStrategyName = esdbclient.ConsumerStrategyPinned
	if err := c.CreatePersistentSubscriptionToAll(ctx, "g", esdbclient.PersistentAllSubscriptionOptions{
		StartFrom: esdbclient.Start{}, Settings: &settings,
		Filter: &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Prefixes: []string{"p-"}},
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.AppendToStream(ctx, "p-"+string(rune('a'+i)), esdbclient.AppendToStreamOptions{}, ev(uuid.New())); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.PersistentBacklog("g"); n != 3 {
		t.Fatalf("backlog %d before any consumer, want 3", n)
	}
	sub, err := c.SubscribeToPersistentSubscriptionToAll(ctx, "g", esdbclient.SubscribeToPersistentSubscriptionOptions{BufferSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next := func() *esdbclient.ResolvedEvent {
		t.Helper()
		for {
			e := sub.Recv()
			if e.SubscriptionDropped != nil {
				t.Fatalf("dropped: %v", e.SubscriptionDropped.Error)
			}
			if e.EventAppeared != nil {
				return e.EventAppeared.Event
			}
		}
	}
	first := next()
	if err := sub.Nack("again", esdbclient.NackActionRetry, first); err != nil {
		t.Fatal(err)
	}
	acked := map[uuid.UUID]bool{}
	for len(acked) < 3 {
		e := next()
		if err := sub.Ack(e); err != nil {
			t.Fatal(err)
		}
		acked[e.OriginalEvent().EventID] = true
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.PersistentBacklog("g") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d after every event was acknowledged", d.PersistentBacklog("g"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d.PersistentBacklog("no-such-group") != 0 {
		t.Error("a group that does not exist has a backlog")
	}
}
