package brokeringest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

func TestEventsPublishedBeforeStartAreStoredThenAcknowledged(t *testing.T) {
	f := newFixture(t, nil)
	f.provision()
	population := f.names.subjectOf("population")
	single := uuid.New()
	batch := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	f.publishEvent(personRegistered(single, "1990-05-01"))
	f.publishBatch(population,
		personRegistered(batch[0], "1991-01-01"), personRegistered(batch[1], "1992-02-02"), personRegistered(batch[2], "1993-03-03"))
	// No content-type header: the binding's structured mode all the same.
	bare := uuid.New()
	f.publish(population, "", mustJSON(personRegistered(bare, "1994-04-04")))

	f.start()
	f.eventually("5 events stored", func() bool { return f.lastPosition() == 5 })
	f.eventually("every message acknowledged and gone from the work queue", func() bool {
		c := f.consumer()
		return c.NumAckPending == 0 && c.NumPending == 0 && f.streamMsgs(f.names.stream) == 0
	})

	stored := f.stream(single)
	if len(stored) != 1 {
		t.Fatalf("stream of %s holds %d events, want 1", single, len(stored))
	}
	m := stored[0].Metadata
	if m.Source != lifeevent.SourcePopulation || m.Actor != lifeevent.SourcePopulation || stored[0].Type != string(lifeevent.PersonRegistered) {
		t.Errorf("stored %s with metadata %+v", stored[0].Type, m)
	}
	for _, p := range append(batch, single, bare) {
		if _, ok := f.index.Person(p); !ok {
			t.Errorf("register does not know %s", p)
		}
	}
	if got := f.metric("lifesituations_broker_ingest_messages_total", "outcome", "stored"); got != 3 {
		t.Errorf("messages{stored} = %v, want 3", got)
	}
	if got := f.metric("lifesituations_ingest_events_accepted_total"); got != 5 {
		t.Errorf("shared ingest metric accepted = %v, want 5", got)
	}
	if n := len(f.deadLetters()); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

func TestResendIsStoredOnceWhicheverTransport(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	person := uuid.New()
	e := personRegistered(person, "1990-05-01")
	f.publishEvent(e)
	f.publishEvent(e)
	f.eventually("both messages handled", func() bool {
		return f.metric("lifesituations_broker_ingest_messages_total", "outcome", "stored") == 2
	})
	// The same event over HTTP is a duplicate too: one core, one key.
	if got, err := f.sub.Submit(context.Background(), submitterSender(lifeevent.SourcePopulation), cloudevents.ApplicationCloudEventsJSON, mustJSON(e)); err != nil || got.Duplicates != 1 {
		t.Fatalf("submit over the shared core: %+v, %v; want 1 duplicate", got, err)
	}
	if n := len(f.stream(person)); n != 1 {
		t.Fatalf("stream holds %d events, want 1", n)
	}
	if got := f.metric("lifesituations_ingest_events_duplicate_total"); got != 2 {
		t.Fatalf("duplicates = %v, want 2", got)
	}
}

func TestInvalidMessagesAreDeadLetteredAndValidOnesKeepFlowing(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	population := f.names.subjectOf("population")
	before, after := uuid.New(), uuid.New()
	future := personRegistered(uuid.New(), "2027-01-01")

	f.publishEvent(personRegistered(before, "1990-05-01"))
	f.publishEvent(future)
	f.publish(population, cloudevents.ApplicationCloudEventsJSON, []byte(`{"specversion": "1.0", "id": `), "X-Registry-Trace", "abc")
	// An atomic batch with one invalid event: none of it is stored.
	f.publishBatch(population, personRegistered(uuid.New(), "1990-01-01"), personRegistered(uuid.New(), "not a date"))
	f.publish(population, "application/json", mustJSON(personRegistered(uuid.New(), "1990-01-01")))
	f.publish(population, "", mustJSON(personRegistered(uuid.New(), "1990-01-01")), "Content-Type", "application/cloudevents+json", "Content-Type", "text/plain")
	f.publishEvent(personRegistered(after, "1991-05-01"))

	f.eventually("the two valid events stored and five dead letters", func() bool {
		return f.lastPosition() == 2 && len(f.deadLetters()) == 5
	})
	f.eventually("every message acknowledged", func() bool {
		c := f.consumer()
		return c.NumAckPending == 0 && c.NumPending == 0 && f.streamMsgs(f.names.stream) == 0
	})
	for _, p := range []uuid.UUID{before, after} {
		if len(f.stream(p)) != 1 {
			t.Errorf("%s not stored", p)
		}
	}

	dead := f.deadLetters()
	want := []struct {
		status, reasons, pointer string
	}{
		{"400", "future_date", "/data/birth_date"},
		{"400", "malformed_field", ""},
		{"400", "malformed_field", "/1/data/birth_date"},
		{"415", "unsupported_media_type", ""},
		{"400", "malformed_header", ""},
	}
	for i, w := range want {
		d := dead[i]
		if d.Subject != f.names.deadLetterOf("population") {
			t.Errorf("dead letter %d on %s, want %s", i, d.Subject, f.names.deadLetterOf("population"))
		}
		h := d.Header
		if h.Get(brokeringest.HeaderStatus) != w.status || h.Get(brokeringest.HeaderReasons) != w.reasons {
			t.Errorf("dead letter %d: status %q reasons %q, want %s %s (reason %q)", i,
				h.Get(brokeringest.HeaderStatus), h.Get(brokeringest.HeaderReasons), w.status, w.reasons, h.Get(brokeringest.HeaderReason))
		}
		if h.Get(brokeringest.HeaderReason) == "" || h.Get(brokeringest.HeaderSubject) != population ||
			h.Get(brokeringest.HeaderStream) != f.names.stream || h.Get(brokeringest.HeaderSequence) != strconv.Itoa(i+2) ||
			h.Get(brokeringest.HeaderDeliveries) != "1" || h.Get(brokeringest.HeaderTime) != t0.Format(time.RFC3339Nano) {
			t.Errorf("dead letter %d headers %v", i, h)
		}
		var p problem.Problem
		if err := json.Unmarshal([]byte(h.Get(brokeringest.HeaderProblem)), &p); err != nil {
			t.Fatalf("dead letter %d problem %q: %v", i, h.Get(brokeringest.HeaderProblem), err)
		}
		if strconv.Itoa(p.Status) != w.status || p.Type == "" || p.Detail == "" {
			t.Errorf("dead letter %d problem %+v", i, p)
		}
		if w.pointer != "" && (len(p.Errors) == 0 || p.Errors[0].Pointer != w.pointer || !strings.Contains(h.Get(brokeringest.HeaderReason), w.pointer)) {
			t.Errorf("dead letter %d: errors %+v, reason %q; want pointer %s", i, p.Errors, h.Get(brokeringest.HeaderReason), w.pointer)
		}
	}
	// The payload is the refused message's, unchanged, with its headers.
	if string(dead[0].Data) != string(mustJSON(future)) {
		t.Errorf("dead letter payload %s, want the refused event", dead[0].Data)
	}
	if dead[1].Header.Get("X-Registry-Trace") != "abc" || dead[1].Header.Get("Content-Type") != cloudevents.ApplicationCloudEventsJSON {
		t.Errorf("dead letter lost the message's headers: %v", dead[1].Header)
	}
	if got := f.metric("lifesituations_broker_ingest_messages_total", "outcome", "dead_lettered"); got != 5 {
		t.Errorf("messages{dead_lettered} = %v, want 5", got)
	}
}

func TestSourceMustBeTheSubjectsRegistry(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	mother := uuid.New()
	f.publishEvent(personRegistered(mother, "1990-05-01"))
	f.eventually("mother stored", func() bool { return f.lastPosition() == 1 })

	// civil-status publishing on its own subject an event claiming to come
	// from the population register.
	f.publishEventOn(f.names.subjectOf("civil-status"), personRegistered(uuid.New(), "1990-05-01"))
	// The population register, as itself, sending a type it does not own.
	wrongType := birthRegistered(uuid.New(), mother, "2026-02-10")
	wrongType.SetSource(lifeevent.SourcePopulation)
	f.publishEventOn(f.names.subjectOf("population"), wrongType)
	// A registry the contract does not know owns no type.
	stranger := personRegistered(uuid.New(), "1990-05-01")
	stranger.SetSource("urn:registry:stranger")
	f.publishEventOn(f.names.subjectOf("stranger"), stranger)
	// And civil-status as itself: stored.
	f.publishEvent(birthRegistered(uuid.New(), mother, "2026-02-10"))

	f.eventually("three dead letters and the birth stored", func() bool {
		return len(f.deadLetters()) == 3 && f.lastPosition() == 2
	})
	dead := f.deadLetters()
	for i, w := range []struct{ registry, reasons, pointer string }{
		{"civil-status", "source_mismatch", "/source"},
		{"population", "not_owner", "/type"},
		{"stranger", "not_owner", "/type"},
	} {
		h := dead[i].Header
		if dead[i].Subject != f.names.deadLetterOf(w.registry) || h.Get(brokeringest.HeaderStatus) != "403" ||
			h.Get(brokeringest.HeaderReasons) != w.reasons || !strings.Contains(h.Get(brokeringest.HeaderReason), w.pointer) {
			t.Errorf("dead letter %d on %s: %v; want %s, 403 %s at %s", i, dead[i].Subject, h, f.names.deadLetterOf(w.registry), w.reasons, w.pointer)
		}
	}
	if r := dead[0].Header.Get(brokeringest.HeaderReason); !strings.Contains(r, `the registry of subject "`+f.names.subjectOf("civil-status")+`"`) {
		t.Errorf("source mismatch reason %q does not name the subject", r)
	}
}

// overloaded refuses the first n appends as the embedded store does when
// its queue is full.
type overloaded struct {
	eventstore.Store
	left atomic.Int64
}

func (s *overloaded) AppendMany(ctx context.Context, a []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if s.left.Add(-1) >= 0 {
		return nil, eventstore.ErrOverloaded
	}
	return s.Store.AppendMany(ctx, a)
}

func TestOverloadedStoreMeansRedeliveryNotLoss(t *testing.T) {
	var store *overloaded
	f := newFixture(t, func(s eventstore.Store) eventstore.Store {
		store = &overloaded{Store: s}
		store.left.Store(3)
		return store
	})
	f.start()
	person := uuid.New()
	f.publishEvent(personRegistered(person, "1990-05-01"))
	f.eventually("stored after the store recovers", func() bool { return f.lastPosition() == 1 })
	f.eventually("acknowledged", func() bool { c := f.consumer(); return c.NumAckPending == 0 && c.NumPending == 0 })
	if got := f.metric("lifesituations_broker_ingest_messages_total", "outcome", "retried"); got != 3 {
		t.Errorf("messages{retried} = %v, want 3", got)
	}
	if n := len(f.deadLetters()); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if got := f.consumer().NumRedelivered; got != 0 {
		t.Errorf("%d messages still waiting for redelivery", got)
	}
}

// gated holds every append until released.
type gated struct {
	eventstore.Store
	entered chan struct{}
	release chan struct{}
}

func (s *gated) AppendMany(ctx context.Context, a []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.AppendMany(ctx, a)
}

func TestAcknowledgedOnlyAfterTheDurableAppend(t *testing.T) {
	g := &gated{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFixture(t, func(s eventstore.Store) eventstore.Store { g.Store = s; return g })
	f.start()
	f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no append after 10s")
	}
	// The append is in progress: the message is delivered, not acknowledged,
	// and still held by the broker.
	time.Sleep(100 * time.Millisecond)
	if c := f.consumer(); c.NumAckPending != 1 {
		t.Fatalf("%d messages awaiting acknowledgement during the append, want 1", c.NumAckPending)
	}
	if n := f.streamMsgs(f.names.stream); n != 1 {
		t.Fatalf("the broker holds %d messages during the append, want 1", n)
	}
	close(g.release)
	f.eventually("acknowledged once stored", func() bool {
		return f.lastPosition() == 1 && f.consumer().NumAckPending == 0 && f.streamMsgs(f.names.stream) == 0
	})
}

func TestEventWaitsForItsPersonFromAnotherRegistry(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	mother, child := uuid.New(), uuid.New()
	// The birth comes first, on civil-status's subject; the mother's
	// registration comes a moment later on the population register's.
	f.publishEvent(birthRegistered(child, mother, "2026-02-10"))
	f.eventually("the birth retried", func() bool {
		return f.metric("lifesituations_broker_ingest_messages_total", "outcome", "retried") >= 1
	})
	f.publishEvent(personRegistered(mother, "1990-05-01"))
	f.eventually("both stored", func() bool { return f.lastPosition() == 2 })
	if n := len(f.stream(child)); n != 1 {
		t.Fatalf("child's stream holds %d events, want 1", n)
	}
	if n := len(f.deadLetters()); n != 0 {
		t.Fatalf("%d dead letters, want none", n)
	}
}

func TestEventAboutAPersonNeverRegisteredIsDeadLetteredInTheEnd(t *testing.T) {
	f := newFixture(t, nil)
	f.start(func(c *brokeringest.Config) { c.UnknownPersonDeliveries = 3 })
	f.publishEvent(deathRegistered(uuid.New(), uuid.New()))
	f.eventually("dead-lettered", func() bool { return len(f.deadLetters()) == 1 })
	h := f.deadLetters()[0].Header
	if h.Get(brokeringest.HeaderReasons) != string(lifeevent.ReasonUnknownPerson) || h.Get(brokeringest.HeaderDeliveries) != "3" {
		t.Fatalf("dead letter headers %v, want unknown_person after 3 deliveries", h)
	}
	f.eventually("acknowledged", func() bool { c := f.consumer(); return c.NumAckPending == 0 && f.streamMsgs(f.names.stream) == 0 })
}

func TestWatermillPublisherAsARegistry(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	pub, err := wmnats.NewPublisherWithNatsConn(f.nc, wmnats.PublisherPublishConfig{
		Marshaler: &wmnats.NATSMarshaler{}, SubjectCalculator: wmnats.DefaultSubjectCalculator,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	person := uuid.New()
	msg := message.NewMessage(uuid.NewString(), mustJSON(personRegistered(person, "1990-05-01")))
	msg.Metadata.Set("content-type", cloudevents.ApplicationCloudEventsJSON)
	// A publisher cannot forge what the broker says about a message.
	msg.Metadata.Set("Lifesituations-Nats-Subject", f.names.subjectOf("civil-status"))
	if err := pub.Publish(f.names.subjectOf("population"), msg); err != nil {
		t.Fatal(err)
	}
	f.eventually("stored", func() bool { return f.lastPosition() == 1 })
	if _, ok := f.index.Person(person); !ok {
		t.Fatal("register does not know the person")
	}
}

func TestRestartResumesFromTheDurableConsumer(t *testing.T) {
	f := newFixture(t, nil)
	f.start()
	f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	f.eventually("first stored", func() bool { return f.lastPosition() == 1 })
	f.stop()
	f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	time.Sleep(50 * time.Millisecond)
	if got := f.lastPosition(); got != 1 {
		t.Fatalf("store at %d while stopped", got)
	}
	f.start(func(c *brokeringest.Config) { c.Registerer = nil }) // the metrics are the first run's
	f.eventually("the two published while stopped stored", func() bool { return f.lastPosition() == 3 })
}

func TestProcessesShareTheDurableConsumerAndOneMayStop(t *testing.T) {
	f := newFixture(t, nil)
	noMetrics := func(c *brokeringest.Config) { c.Registerer = nil }
	stopFirst := f.start(noMetrics)
	f.start(noMetrics)
	for range 10 {
		f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	}
	f.eventually("10 stored", func() bool { return f.lastPosition() == 10 })
	// The first process stops; the consumer is the group's, not its own.
	stopFirst()
	if c := f.consumer(); c.Config.DeliverGroup != f.names.durable {
		t.Fatalf("consumer %+v", c.Config)
	}
	for range 10 {
		f.publishEvent(personRegistered(uuid.New(), "1990-05-01"))
	}
	f.eventually("the other process stores the next 10", func() bool { return f.lastPosition() == 20 })
}

func TestRunAfterCloseFails(t *testing.T) {
	f := newFixture(t, nil)
	g, err := brokeringest.New(f.config(func(c *brokeringest.Config) { c.Registerer = nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close before run: %v", err)
	}
	if err := g.Run(context.Background()); !errors.Is(err, brokeringest.ErrClosed) {
		t.Fatalf("run after close: %v, want ErrClosed", err)
	}
}
