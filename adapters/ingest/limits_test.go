package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"

	"lifesituations/adapters/ingest"
	"lifesituations/domain/eventstore"
)

func TestBodyOverOneMiBIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	e := withData(t, personRegistered(uuid.New(), "1990-05-01"), func(d map[string]any) {
		d["address"] = strings.Repeat("a", ingest.MaxBodyBytes)
	})
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	// Announced by Content-Length.
	post(t, srv, event.ApplicationCloudEventsJSON, body).wantProblem(t, http.StatusRequestEntityTooLarge)

	// Streamed with no length: cut off while reading.
	req, err := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", event.ApplicationCloudEventsJSON)
	if req.ContentLength != 0 {
		t.Fatalf("request has a length: %d", req.ContentLength)
	}
	do(t, req).wantProblem(t, http.StatusRequestEntityTooLarge)

	// A batch of more than 1,000 events, however small.
	events := make([]event.Event, ingest.MaxBatch+1)
	for i := range events {
		events[i] = newEvent("urn:registry:population", "x", uuid.New(), map[string]any{})
	}
	postBatch(t, srv, events...).wantProblem(t, http.StatusRequestEntityTooLarge)

	if got := f.lastPosition(); got != 0 {
		t.Fatalf("store at %d after 413s", got)
	}
}

func TestOtherContentTypesAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	body, err := json.Marshal(personRegistered(uuid.New(), "1990-05-01"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"application/json", "text/plain", "", "application/cloudevents+json; charset=latin1", "application/cloudevents+xml"} {
		post(t, srv, ct, body).wantProblem(t, http.StatusUnsupportedMediaType)
	}
	// Parameters and case that do not change the meaning are fine.
	post(t, srv, "Application/CloudEvents+JSON; charset=UTF-8", body).wantAccepted(t, 1, 0)
}

// overloadedStore refuses every append as the embedded store does when its
// queue is full.
type overloadedStore struct{ eventstore.Store }

func (overloadedStore) AppendMany(context.Context, []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	return nil, eventstore.ErrOverloaded
}

func TestOverloadedStoreAnswers503WithRetryAfter(t *testing.T) {
	f := newFixture(t, func(s eventstore.Store) eventstore.Store { return overloadedStore{s} })
	srv := f.server(population)
	person := uuid.New()
	if status := sendCE(t, srv, personRegistered(person, "1990-05-01")); status != http.StatusServiceUnavailable {
		t.Fatalf("SDK client: status %d, want 503", status)
	}
	r := postBatch(t, srv, personRegistered(person, "1990-05-01"), personRegistered(uuid.New(), "1990-05-01"))
	r.wantProblem(t, http.StatusServiceUnavailable)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	if got := f.lastPosition(); got != 0 {
		t.Fatalf("store at %d after a 503", got)
	}
	if _, ok := f.index.Person(person); ok {
		t.Fatal("register knows a person that was not stored")
	}
	if got := f.metric("lifesituations_ingest_events_rejected_total", "reason", "overloaded"); got != 3 {
		t.Fatalf("rejected{overloaded} = %v, want 3", got)
	}
}

// sendStatus sends with the SDK client from any goroutine: it reports a
// failure to send as status 0 rather than through t.
func sendStatus(srv *httptest.Server, e event.Event) int {
	c, err := cloudevents.NewClientHTTP()
	if err != nil {
		return 0
	}
	res := c.Send(cloudevents.WithEncodingStructured(cloudevents.ContextWithTarget(context.Background(), srv.URL)), e)
	var hr *cehttp.Result
	if !cloudevents.ResultAs(res, &hr) {
		return 0
	}
	return hr.StatusCode
}

// postEventAsync posts from any goroutine, reporting failures in err.
func postEventAsync(srv *httptest.Server, e event.Event) response {
	body, err := json.Marshal(e)
	if err != nil {
		return response{err: err}
	}
	resp, err := http.Post(srv.URL, event.ApplicationCloudEventsJSON, bytes.NewReader(body))
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header}
	r.err = json.NewDecoder(resp.Body).Decode(&r.problem)
	return r
}

// gatedStore holds every append until released, to keep requests in flight.
type gatedStore struct {
	eventstore.Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Store.AppendMany(ctx, appends)
}

func TestRequestsBeyondMaxInFlightAnswer429(t *testing.T) {
	gate := &gatedStore{entered: make(chan struct{}, 4), release: make(chan struct{})}
	f := newFixture(t,
		func(s eventstore.Store) eventstore.Store { gate.Store = s; return gate },
		func(c *ingest.Config) { c.MaxInFlight = 2 },
	)
	srv := f.server(population)

	held := make(chan int, 2)
	for range 2 {
		go func() { held <- sendStatus(srv, personRegistered(uuid.New(), "1990-05-01")) }()
	}
	<-gate.entered
	<-gate.entered

	// Both slots are taken: the next request is refused at once, never
	// reaching the store.
	third := make(chan response, 1)
	go func() { third <- postEventAsync(srv, personRegistered(uuid.New(), "1990-05-01")) }()
	var r response
	select {
	case r = <-third:
	case <-gate.entered:
		close(gate.release)
		t.Fatal("a request beyond MaxInFlight reached the store")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.wantProblem(t, http.StatusTooManyRequests)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}

	close(gate.release)
	for range 2 {
		if status := <-held; status != http.StatusAccepted {
			t.Fatalf("held request: status %d, want 202", status)
		}
	}
	// With the slots free again, requests go through.
	postEvent(t, srv, personRegistered(uuid.New(), "1990-05-01")).wantAccepted(t, 1, 0)
	if got := f.lastPosition(); got != 3 {
		t.Fatalf("store at %d, want 3", got)
	}
}

func TestOnlyPostIsAllowed(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, req)
	r.wantProblem(t, http.StatusMethodNotAllowed)
	if got := r.header.Get("Allow"); got != http.MethodPost {
		t.Fatalf("Allow %q", got)
	}
}
