package brokeringest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/adapters/ingest/ingesttest"
	"lifesituations/adapters/metricstest"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

// t0 is "now" for every test, as in adapters/ingest.
var t0 = ingesttest.T0

// The registry events the tests send (adapters/ingest/ingesttest).
var (
	newEvent         = ingesttest.Event
	personRegistered = ingesttest.PersonRegistered
	birthRegistered  = ingesttest.BirthRegistered
	deathRegistered  = ingesttest.DeathRegistered
)

// natsURL is the server the tests run against: the machine's NATS with
// JetStream unless LIFESITUATIONS_NATS_URL names another.
func natsURL() string {
	if u := os.Getenv("LIFESITUATIONS_NATS_URL"); u != "" {
		return u
	}
	return brokeringest.DefaultURL
}

// requireNATS skips the test, saying so plainly, when no NATS server with
// JetStream answers.
func requireNATS(tb testing.TB) {
	tb.Helper()
	u, err := url.Parse(natsURL())
	if err != nil {
		tb.Fatalf("LIFESITUATIONS_NATS_URL: %v", err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		tb.Skipf("SKIPPED: no NATS server at %s (%v); start one with JetStream (nats-server -js) or set LIFESITUATIONS_NATS_URL", u.Host, err)
	}
	_ = c.Close()
}

// names are a test's own subjects, streams and consumer, so that tests do
// not see each other's messages.
type names struct {
	subject, deadLetter, stream, deadStream, durable string
}

func newNames() names {
	id := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	return names{
		subject:    "lstest" + id + ".*.events",
		deadLetter: "lstest" + id + ".*.dead-letter",
		stream:     "LSTEST_" + strings.ToUpper(id),
		deadStream: "LSTEST_" + strings.ToUpper(id) + "_DLQ",
		durable:    "lstest-" + id,
	}
}

func (n names) subjectOf(registry string) string {
	return strings.Replace(n.subject, "*", registry, 1)
}

func (n names) deadLetterOf(registry string) string {
	return strings.Replace(n.deadLetter, "*", registry, 1)
}

type fixture struct {
	t     testing.TB
	names names
	store *embedded.Store
	index *register.Index
	reg   *prometheus.Registry
	sub   *ingest.Submitter
	http  *ingest.Handler
	nc    *nats.Conn
	js    nats.JetStreamContext

	ingest *brokeringest.Ingest
	stop   func()
}

type option func(*brokeringest.Config)

// newFixture opens an embedded store and connects a registry's NATS
// connection; wrap, when given, stands between the core and the store.
func newFixture(tb testing.TB, wrap func(eventstore.Store) eventstore.Store) *fixture {
	tb.Helper()
	requireNATS(tb)
	store, err := embedded.Open(tb.TempDir())
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: tb, names: newNames(), store: store, index: register.NewIndex(), reg: prometheus.NewRegistry()}
	metrics, err := ingest.NewMetrics(f.reg)
	if err != nil {
		tb.Fatal(err)
	}
	var s eventstore.Store = store
	if wrap != nil {
		s = wrap(store)
	}
	f.http, err = ingest.NewHandler(ingest.Config{
		Store: s, Register: f.index, Clock: clock.NewManual(t0), Metrics: metrics,
		Logger: quiet(), MaxInFlight: 256,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.sub = f.http.Submitter()
	if f.nc, err = nats.Connect(natsURL(), nats.Name("lifesituations test registry")); err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(f.nc.Close)
	if f.js, err = f.nc.JetStream(nats.MaxWait(10 * time.Second)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, s := range []string{f.names.stream, f.names.deadStream} {
			_ = f.js.DeleteStream(s)
		}
	})
	return f
}

func quiet() *slog.Logger {
	if testing.Verbose() && os.Getenv("BROKERINGEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// config is the broker path as the tests run it: fast retries.
func (f *fixture) config(opts ...option) brokeringest.Config {
	cfg := brokeringest.Config{
		URL:               natsURL(),
		Submitter:         f.sub,
		Clock:             clock.NewManual(t0),
		Subject:           f.names.subject,
		DeadLetterSubject: f.names.deadLetter,
		Stream:            f.names.stream,
		DeadLetterStream:  f.names.deadStream,
		Durable:           f.names.durable,
		RetryDelay:        50 * time.Millisecond,
		MaxRetryDelay:     200 * time.Millisecond,
		AckWait:           10 * time.Second,
		Logger:            quiet(),
		Registerer:        f.reg,
	}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// provision creates the streams, as New would, before the consumer runs.
func (f *fixture) provision(opts ...option) {
	f.t.Helper()
	cfg := f.config(opts...)
	cfg.Registerer = nil
	g, err := brokeringest.New(cfg)
	if err != nil {
		f.t.Fatalf("provision: %v", err)
	}
	_ = g.Close()
}

// start runs the broker path until the test ends or stop (also returned)
// is called.
func (f *fixture) start(opts ...option) func() {
	f.t.Helper()
	cfg := f.config(opts...)
	g, err := brokeringest.New(cfg)
	if err != nil {
		f.t.Fatalf("new: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	select {
	case <-g.Running():
	case err := <-done:
		cancel()
		f.t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		f.t.Fatal("not running after 10s")
	}
	var once sync.Once
	f.ingest = g
	stop := func() {
		once.Do(func() {
			cancel()
			_ = g.Close()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				f.t.Error("Run did not return 15s after Close")
			}
		})
	}
	f.stop = stop
	f.t.Cleanup(stop)
	return stop
}

// publish sends one message as a registry would with plain NATS: the
// payload as given, Content-Type when not empty, and other headers.
func (f *fixture) publish(subject, contentType string, payload []byte, headers ...string) {
	f.t.Helper()
	m := nats.NewMsg(subject)
	m.Data = payload
	if contentType != "" {
		m.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		m.Header.Add(headers[i], headers[i+1])
	}
	if _, err := f.js.PublishMsg(m); err != nil {
		f.t.Fatalf("publish to %s: %v", subject, err)
	}
}

// publishEvent sends one structured-mode CloudEvent on its source's subject.
func (f *fixture) publishEvent(e event.Event) {
	f.t.Helper()
	f.publishEventOn(f.names.subjectOf(registryOf(e.Source())), e)
}

func (f *fixture) publishEventOn(subject string, e event.Event) {
	f.t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		f.t.Fatal(err)
	}
	f.publish(subject, cloudevents.ApplicationCloudEventsJSON, b)
}

// publishBatch sends events as one atomic batch message.
func (f *fixture) publishBatch(subject string, events ...event.Event) {
	f.t.Helper()
	b, err := json.Marshal(events)
	if err != nil {
		f.t.Fatal(err)
	}
	f.publish(subject, cloudevents.ApplicationCloudEventsBatchJSON, b)
}

func registryOf(source string) string {
	r, ok := brokeringest.Registry(source)
	if !ok {
		panic("not a registry source: " + source)
	}
	return r
}

// eventually polls cond until it holds or 10 s pass.
func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lastPosition is how many events the store holds.
func (f *fixture) lastPosition() eventstore.Position {
	f.t.Helper()
	pos, err := f.store.LastPosition(context.Background())
	if err != nil {
		f.t.Fatalf("last position: %v", err)
	}
	return pos
}

// stream reads a person's stream back from the store.
func (f *fixture) stream(person uuid.UUID) []eventstore.RecordedEvent {
	f.t.Helper()
	events, err := f.store.ReadStream(context.Background(), lifeevent.PersonStream(person), 0, eventstore.Forwards, 100)
	if err != nil {
		f.t.Fatalf("read stream of %s: %v", person, err)
	}
	return events
}

// streamMsgs is how many messages a JetStream stream holds.
func (f *fixture) streamMsgs(stream string) uint64 {
	f.t.Helper()
	info, err := f.js.StreamInfo(stream)
	if err != nil {
		f.t.Fatalf("stream info %s: %v", stream, err)
	}
	return info.State.Msgs
}

// consumer is the durable consumer's state.
func (f *fixture) consumer() *nats.ConsumerInfo {
	f.t.Helper()
	info, err := f.js.ConsumerInfo(f.names.stream, f.names.durable)
	if err != nil {
		f.t.Fatalf("consumer info: %v", err)
	}
	return info
}

// deadLetters are the dead-letter stream's messages, oldest first.
func (f *fixture) deadLetters() []*nats.RawStreamMsg {
	f.t.Helper()
	info, err := f.js.StreamInfo(f.names.deadStream)
	if err != nil {
		f.t.Fatalf("stream info: %v", err)
	}
	var msgs []*nats.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := f.js.GetMsg(f.names.deadStream, seq)
		if err != nil {
			f.t.Fatalf("dead letter %d: %v", seq, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// metric returns the value of a counter with the given labels (0 when absent).
func (f *fixture) metric(name string, labels ...string) float64 {
	f.t.Helper()
	return metricstest.Value(f.t, f.reg, name, labels...)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

func submitterSender(source string) ingest.Sender { return ingest.Sender{Source: source} }
