package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	_ "time/tzdata" // zone checks must not depend on the machine's zoneinfo

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/adapters/ingest"
	"lifesituations/adapters/ingest/ingesttest"
	"lifesituations/adapters/metricstest"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

// t0 is "now" for every test: noon UTC, so that the date rules have a
// known today (2026-03-01 in UTC, 2026-03-02 at UTC+14).
var t0 = ingesttest.T0

// The registry events the tests send (adapters/ingest/ingesttest).
var (
	newEvent           = ingesttest.Event
	personRegistered   = ingesttest.PersonRegistered
	birthRegistered    = ingesttest.BirthRegistered
	residenceChanged   = ingesttest.ResidenceChanged
	marriageRegistered = ingesttest.MarriageRegistered
	deathRegistered    = ingesttest.DeathRegistered
	incomeReported     = ingesttest.IncomeReported
)

var (
	population  = auth.Principal{Role: auth.RoleRegistry, Subject: lifeevent.SourcePopulation}
	civilStatus = auth.Principal{Role: auth.RoleRegistry, Subject: lifeevent.SourceCivilStatus}
	residence   = auth.Principal{Role: auth.RoleRegistry, Subject: lifeevent.SourceResidence}
	tax         = auth.Principal{Role: auth.RoleRegistry, Subject: lifeevent.SourceTax}
)

type fixture struct {
	t       *testing.T
	store   *embedded.Store
	index   *register.Index
	clock   *clock.Manual
	reg     *prometheus.Registry
	handler *ingest.Handler
}

// newFixture opens an embedded store in a temporary directory; wrap, when
// given, stands between the handler and the store.
func newFixture(t *testing.T, wrap func(eventstore.Store) eventstore.Store, configure ...func(*ingest.Config)) *fixture {
	t.Helper()
	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, store: store, index: register.NewIndex(), clock: clock.NewManual(t0), reg: prometheus.NewRegistry()}
	metrics, err := ingest.NewMetrics(f.reg)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	var s eventstore.Store = store
	if wrap != nil {
		s = wrap(store)
	}
	cfg := ingest.Config{
		Store: s, Register: f.index, Clock: f.clock, Metrics: metrics,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxInFlight: 8,
	}
	for _, c := range configure {
		c(&cfg)
	}
	if f.handler, err = ingest.NewHandler(cfg); err != nil {
		t.Fatalf("handler: %v", err)
	}
	return f
}

// server serves the handler to callers authenticated as p, standing in for
// the real authentication middleware.
func (f *fixture) server(p auth.Principal) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.handler.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}))
	f.t.Cleanup(srv.Close)
	return srv
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

// sendCE sends one event the way a registry would, with the CloudEvents
// SDK client in structured mode, and returns the HTTP status.
func sendCE(t *testing.T, srv *httptest.Server, e event.Event) int {
	t.Helper()
	c, err := cloudevents.NewClientHTTP()
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ctx := cloudevents.WithEncodingStructured(cloudevents.ContextWithTarget(context.Background(), srv.URL))
	res := c.Send(ctx, e)
	var hr *cehttp.Result
	if !cloudevents.ResultAs(res, &hr) {
		t.Fatalf("send: not an HTTP result: %v", res)
	}
	if cloudevents.IsACK(res) != (hr.StatusCode/100 == 2) {
		t.Fatalf("send: ACK %v for status %d", cloudevents.IsACK(res), hr.StatusCode)
	}
	return hr.StatusCode
}

type response struct {
	status   int
	header   http.Header
	problem  problem.Problem
	accepted ingest.Accepted
	err      error
}

func post(t *testing.T, srv *httptest.Server, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	r := response{status: resp.StatusCode, header: resp.Header}
	switch ct := resp.Header.Get("Content-Type"); {
	case resp.StatusCode == http.StatusAccepted:
		if ct != "application/json" {
			t.Fatalf("202 with Content-Type %q", ct)
		}
		if err := json.Unmarshal(body, &r.accepted); err != nil {
			t.Fatalf("202 body %s: %v", body, err)
		}
	default:
		if ct != "application/problem+json" {
			t.Fatalf("status %d with Content-Type %q: %s", resp.StatusCode, ct, body)
		}
		if err := json.Unmarshal(body, &r.problem); err != nil {
			t.Fatalf("problem body %s: %v", body, err)
		}
		if r.problem.Status != resp.StatusCode || r.problem.Type == "" || r.problem.Title == "" || r.problem.Detail == "" {
			t.Fatalf("incomplete problem for status %d: %s", resp.StatusCode, body)
		}
	}
	return r
}

// postEvent sends one event as the SDK marshals it in structured mode.
func postEvent(t *testing.T, srv *httptest.Server, e event.Event) response {
	t.Helper()
	req, err := cehttp.NewHTTPRequestFromEvent(cloudevents.WithEncodingStructured(context.Background()), srv.URL, e)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	return do(t, req)
}

// postBatch sends events as a JSON array, application/cloudevents-batch+json.
func postBatch(t *testing.T, srv *httptest.Server, events ...event.Event) response {
	t.Helper()
	req, err := cehttp.NewHTTPRequestFromEvents(context.Background(), srv.URL, events)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	return do(t, req)
}

func (r response) wantAccepted(t *testing.T, accepted, duplicates int) {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d (%s: %+v), want 202", r.status, r.problem.Detail, r.problem.Errors)
	}
	if r.accepted != (ingest.Accepted{Accepted: accepted, Duplicates: duplicates}) {
		t.Fatalf("answer %+v, want accepted %d, duplicates %d", r.accepted, accepted, duplicates)
	}
}

// wantProblem checks the status and that the errors point at exactly the
// given pointers.
func (r response) wantProblem(t *testing.T, status int, pointers ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s: %+v), want %d", r.status, r.problem.Detail, r.problem.Errors, status)
	}
	got := make([]string, 0, len(r.problem.Errors))
	for _, e := range r.problem.Errors {
		if e.Detail == "" {
			t.Errorf("error at %q has no detail", e.Pointer)
		}
		got = append(got, e.Pointer)
	}
	slices.Sort(got)
	want := slices.Clone(pointers)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("error pointers %q, want %q (%+v)", got, want, r.problem.Errors)
	}
}

// withData returns a copy of e whose data was changed by edit.
func withData(t *testing.T, e event.Event, edit func(map[string]any)) event.Event {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(e.Data(), &data); err != nil {
		t.Fatal(err)
	}
	edit(data)
	c := e.Clone()
	if err := c.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return c
}

// seed stores events that a test builds on, each sent by its owner.
func (f *fixture) seed(events ...event.Event) {
	f.t.Helper()
	servers := map[string]*httptest.Server{}
	for _, e := range events {
		srv, ok := servers[e.Source()]
		if !ok {
			srv = f.server(auth.Principal{Role: auth.RoleRegistry, Subject: e.Source()})
			servers[e.Source()] = srv
		}
		if status := sendCE(f.t, srv, e); status != http.StatusAccepted {
			f.t.Fatalf("seed %s: status %d", e.Type(), status)
		}
	}
}

// metric returns the value of a counter, or the sample count of a
// histogram, with the given labels (0 when absent).
func (f *fixture) metric(name string, labels ...string) float64 {
	f.t.Helper()
	return metricstest.Value(f.t, f.reg, name, labels...)
}
