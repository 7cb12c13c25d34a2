package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"lifesituations/adapters/ingest"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// The Submitter is the handler's core without HTTP, for the broker path.

func refusal(t *testing.T, err error) *ingest.Refusal {
	t.Helper()
	var r *ingest.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a *ingest.Refusal", err)
	}
	return r
}

func (f *fixture) wantRefused(err error, status int, reasons []string, pointers ...string) *ingest.Refusal {
	f.t.Helper()
	r := refusal(f.t, err)
	if r.Problem.Status != status || !slices.Equal(r.Reasons, reasons) {
		f.t.Fatalf("refused %d %v (%s), want %d %v", r.Problem.Status, r.Reasons, r.Problem.Detail, status, reasons)
	}
	got := make([]string, 0, len(r.Problem.Errors))
	for _, e := range r.Problem.Errors {
		got = append(got, e.Pointer)
	}
	if !slices.Equal(got, pointers) {
		f.t.Fatalf("pointers %q, want %q", got, pointers)
	}
	return r
}

func TestSubmitterAcceptsDecodedEventsOnceAndAnswersResendsAsDuplicates(t *testing.T) {
	f := newFixture(t, nil)
	sub := f.handler.Submitter()
	ctx := context.Background()
	mother, child := uuid.New(), uuid.New()
	from := ingest.Sender{Source: lifeevent.SourcePopulation}

	got, err := sub.Accept(ctx, from, []event.Event{personRegistered(mother, "1990-05-01")})
	if err != nil || got != (ingest.Accepted{Accepted: 1}) {
		t.Fatalf("accept: %+v, %v", got, err)
	}
	birth := birthRegistered(child, mother, "2026-02-10")
	civil := ingest.Sender{Source: lifeevent.SourceCivilStatus}
	if got, err = sub.Accept(ctx, civil, []event.Event{birth}); err != nil || got != (ingest.Accepted{Accepted: 1}) {
		t.Fatalf("accept the birth: %+v, %v", got, err)
	}
	// The same birth over HTTP: the handler shares the core.
	postEvent(t, f.server(civilStatus), birth).wantAccepted(t, 0, 1)
	body, _ := json.Marshal(birth)
	if got, err = sub.Submit(ctx, civil, "application/cloudevents+json", body); err != nil || got != (ingest.Accepted{Duplicates: 1}) {
		t.Fatalf("submit a resend: %+v, %v", got, err)
	}
	if n := len(f.stream(child)); n != 1 {
		t.Fatalf("child's stream holds %d events, want 1", n)
	}
	if got, err = sub.Accept(ctx, from, nil); err != nil || got != (ingest.Accepted{}) {
		t.Fatalf("accept nothing: %+v, %v", got, err)
	}
}

func TestSubmitterRefusesAsTheHandlerDoes(t *testing.T) {
	f := newFixture(t, nil)
	sub := f.handler.Submitter()
	ctx := context.Background()
	population := ingest.Sender{Source: lifeevent.SourcePopulation, Credential: `the registry of subject "registries.population.events"`}
	before := f.lastPosition()

	// An atomic batch with one invalid event: 400, pointers by index.
	_, err := sub.Accept(ctx, population, []event.Event{
		personRegistered(uuid.New(), "1990-05-01"), personRegistered(uuid.New(), "2027-01-01"),
	})
	r := f.wantRefused(err, http.StatusBadRequest, []string{string(lifeevent.ReasonFutureDate)}, "/1/data/birth_date")
	if r.Temporary() || r.OnlyReason(string(lifeevent.ReasonUnknownPerson)) {
		t.Fatalf("temporary %v, only unknown person %v", r.Temporary(), r.OnlyReason(string(lifeevent.ReasonUnknownPerson)))
	}

	// Another registry's source: 403, naming what authenticated the sender.
	_, err = sub.Accept(ctx, population, []event.Event{birthRegistered(uuid.New(), uuid.New(), "2026-02-10")})
	r = f.wantRefused(err, http.StatusForbidden, []string{"source_mismatch"}, "/source")
	if !strings.Contains(r.Problem.Errors[0].Detail, population.Credential) {
		t.Fatalf("detail %q does not name the credential", r.Problem.Errors[0].Detail)
	}

	// Its own source, a type it does not own: 403.
	wrong := birthRegistered(uuid.New(), uuid.New(), "2026-02-10")
	wrong.SetSource(lifeevent.SourcePopulation)
	_, err = sub.Accept(ctx, population, []event.Event{wrong})
	f.wantRefused(err, http.StatusForbidden, []string{"not_owner"}, "/type")

	// A person not known: refused, and told apart from other errors.
	_, err = sub.Accept(ctx, ingest.Sender{Source: lifeevent.SourceCivilStatus}, []event.Event{deathRegistered(uuid.New(), uuid.New())})
	r = f.wantRefused(err, http.StatusBadRequest, []string{string(lifeevent.ReasonUnknownPerson)}, "/data/person_id", "/data/informant_id")
	if !r.OnlyReason(string(lifeevent.ReasonUnknownPerson)) {
		t.Fatal("OnlyReason(unknown_person) is false")
	}

	// The body rules of POST /v1/events.
	body, _ := json.Marshal(personRegistered(uuid.New(), "1990-05-01"))
	_, err = sub.Submit(ctx, population, "application/json", body)
	f.wantRefused(err, http.StatusUnsupportedMediaType, []string{ingest.ReasonUnsupportedMediaType})
	_, err = sub.Submit(ctx, population, "application/cloudevents+json", make([]byte, ingest.MaxBodyBytes+1))
	f.wantRefused(err, http.StatusRequestEntityTooLarge, []string{ingest.ReasonTooLarge})
	_, err = sub.Submit(ctx, population, "application/cloudevents-batch+json", []byte(`{"not": "an array"}`))
	f.wantRefused(err, http.StatusBadRequest, []string{string(lifeevent.ReasonMalformedField)}, "")
	_, err = sub.Submit(ctx, population, "application/cloudevents+json", []byte(`{"specversion": "0.3"}`))
	f.wantRefused(err, http.StatusBadRequest, []string{string(lifeevent.ReasonMalformedField)}, "/specversion")

	if got := f.lastPosition(); got != before {
		t.Fatalf("store moved from %d to %d", before, got)
	}
}

func TestSubmitterRefusalIsTemporaryWhenTheStoreIsOverloaded(t *testing.T) {
	f := newFixture(t, func(s eventstore.Store) eventstore.Store { return overloadedStore{s} })
	_, err := f.handler.Submitter().Accept(context.Background(), ingest.Sender{Source: lifeevent.SourcePopulation},
		[]event.Event{personRegistered(uuid.New(), "1990-05-01")})
	r := f.wantRefused(err, http.StatusServiceUnavailable, []string{"overloaded"})
	if !r.Temporary() || !errors.Is(err, eventstore.ErrOverloaded) || r.Problem.RetryAfter <= 0 {
		t.Fatalf("temporary %v, is ErrOverloaded %v, retry after %v", r.Temporary(), errors.Is(err, eventstore.ErrOverloaded), r.Problem.RetryAfter)
	}
}
