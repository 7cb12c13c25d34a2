package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Submitter is the transport-free core of ingestion: it checks that a
// registry sends only as itself and only the types it owns, validates every
// event (a batch is atomic), recognises resends by their (source, id) key,
// appends the new events durably and folds them into the register. It
// returns only once the events are stored, or with a Refusal and nothing
// stored. It is safe for concurrent use; the HTTP Handler and the broker
// path share one so that they share the register and the metrics.
type Submitter struct {
	store      eventstore.Store
	register   Register
	clock      clock.Clock
	metrics    *Metrics
	log        *slog.Logger
	validator  lifeevent.Validator
	retryAfter time.Duration
}

// NewSubmitter checks cfg and returns the core; MaxInFlight is not used.
func NewSubmitter(cfg Config) (*Submitter, error) {
	if cfg.Store == nil || cfg.Register == nil || cfg.Clock == nil {
		return nil, errors.New("ingest: Store, Register and Clock are required")
	}
	if cfg.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		cfg.Metrics = m
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.TimeZoneValid == nil {
		cfg.TimeZoneValid = (&zoneCache{}).valid
	}
	return &Submitter{
		store:      cfg.Store,
		register:   cfg.Register,
		clock:      cfg.Clock,
		metrics:    cfg.Metrics,
		log:        cfg.Logger,
		validator:  lifeevent.Validator{TimeZoneValid: cfg.TimeZoneValid},
		retryAfter: cfg.RetryAfter,
	}, nil
}

// Sender is the registry that sends, as its transport authenticated it.
type Sender struct {
	// Source is the registry's URI (e.g. urn:registry:civil-status); every
	// event's source must equal it.
	Source string
	// Credential names what established Source, for the refusal of an
	// event claiming another source: "this token's subject" over HTTP.
	// Empty means "the authenticated registry".
	Credential string
}

func (s Sender) credential() string {
	if s.Credential == "" {
		return "the authenticated registry"
	}
	return s.Credential
}

// Refusal is the error of Submit and Accept: nothing new was stored.
type Refusal struct {
	// Problem is what POST /v1/events answers in the same case: its status,
	// detail and, per invalid field, a pointer into the body.
	Problem *problem.Problem
	// Reasons are the distinct reasons of the refusal in the order found:
	// the lifeevent.Reason of each field error, source_mismatch, not_owner,
	// unsupported_media_type, too_large, or for a temporary refusal
	// overloaded, unavailable or store_error.
	Reasons []string
	// Err is the event store's error behind a temporary refusal.
	Err error
}

// Refusal reasons beyond the validator's and the counted ones.
const (
	ReasonUnsupportedMediaType = "unsupported_media_type"
	ReasonTooLarge             = "too_large"
	ReasonUnavailable          = "unavailable"
)

func (r *Refusal) Error() string {
	msg := fmt.Sprintf("%d %s: %s", r.Problem.Status, r.Problem.Title, r.Problem.Detail)
	if r.Err != nil {
		msg += ": " + r.Err.Error()
	}
	return msg
}

func (r *Refusal) Unwrap() error { return r.Err }

// Temporary reports whether nothing is wrong with the events themselves:
// the store was overloaded, closed or failed, or the call was cancelled,
// and the same events may be sent again later (a resend is never stored
// twice). Otherwise the events were refused for what they are, and sending
// them unchanged is refused again.
func (r *Refusal) Temporary() bool {
	return r.Problem.Status == http.StatusTooManyRequests || r.Problem.Status >= 500
}

// OnlyReason reports whether every error of the refusal has this reason:
// lifeevent.ReasonUnknownPerson alone, for example, means that the events
// are valid once their persons are registered.
func (r *Refusal) OnlyReason(reason string) bool {
	return len(r.Reasons) == 1 && r.Reasons[0] == reason
}

func refuse(p *problem.Problem, reasons ...string) *Refusal {
	return &Refusal{Problem: p, Reasons: reasons}
}

// Submit takes a body as POST /v1/events does: one structured-mode
// CloudEvent (contentType application/cloudevents+json) or an atomic
// batch (application/cloudevents-batch+json), at most MaxBodyBytes. It
// answers what was stored, or a *Refusal.
func (s *Submitter) Submit(ctx context.Context, from Sender, contentType string, body []byte) (Accepted, error) {
	batch, p := mediaType(contentType)
	if p != nil {
		return Accepted{}, refuse(p, ReasonUnsupportedMediaType)
	}
	if len(body) > MaxBodyBytes {
		return Accepted{}, refuse(tooLarge(fmt.Sprintf("the body is %d bytes; at most %d are accepted", len(body), MaxBodyBytes)), ReasonTooLarge)
	}
	items, p := parseBody(body, batch)
	if p != nil {
		reason := string(lifeevent.ReasonMalformedField)
		if p.Status == http.StatusRequestEntityTooLarge {
			reason = ReasonTooLarge
		}
		return Accepted{}, refuse(p, reason)
	}
	accepted, refusal := s.submit(ctx, from, items, batch)
	if refusal != nil {
		return Accepted{}, refusal
	}
	return accepted, nil
}

// Accept takes events already decoded, with the same rules as Submit. The
// events are an atomic batch; error pointers are prefixed with the event's
// index unless there is exactly one event.
func (s *Submitter) Accept(ctx context.Context, from Sender, events []event.Event) (Accepted, error) {
	if len(events) > MaxBatch {
		return Accepted{}, refuse(tooLarge(fmt.Sprintf("the batch holds %d events; at most %d are accepted", len(events), MaxBatch)), ReasonTooLarge)
	}
	items := make([]*item, len(events))
	for i, e := range events {
		items[i] = &item{index: i, ce: e, errs: checkEnvelope(e)}
	}
	accepted, refusal := s.submit(ctx, from, items, len(events) != 1)
	if refusal != nil {
		return Accepted{}, refusal
	}
	return accepted, nil
}

// item is one event of a submission on its way through the core.
type item struct {
	index int
	ce    event.Event
	// id is the stored event id, set once the envelope is valid.
	id        uuid.UUID
	errs      []lifeevent.FieldError
	checked   lifeevent.Event
	duplicate bool
}

// parseBody splits a body into its events and reads each envelope.
func parseBody(body []byte, batch bool) ([]*item, *problem.Problem) {
	raws, p := split(body, batch)
	if p != nil {
		return nil, p
	}
	items := make([]*item, len(raws))
	for i, raw := range raws {
		ce, errs := parseEvent(raw)
		items[i] = &item{index: i, ce: ce, errs: errs}
	}
	return items, nil
}

// submit runs the rules over parsed items: ownership, validation, then the
// durable append.
func (s *Submitter) submit(ctx context.Context, from Sender, items []*item, batch bool) (Accepted, *Refusal) {
	s.metrics.batchSize.Observe(float64(len(items)))
	if r := s.authorize(from, items, batch); r != nil {
		return Accepted{}, r
	}
	if r := s.validate(ctx, items, batch); r != nil {
		return Accepted{}, r
	}
	return s.commit(ctx, items)
}

func (s *Submitter) unavailable(status int, slug, title, detail string) *problem.Problem {
	p := problem.New(status, slug, title, detail)
	p.RetryAfter = s.retryAfter
	return p
}

// appendReason adds reason to reasons unless it is there already.
func appendReason(reasons []string, reason string) []string {
	for _, r := range reasons {
		if r == reason {
			return reasons
		}
	}
	return append(reasons, reason)
}
