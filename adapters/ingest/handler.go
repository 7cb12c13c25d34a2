// Package ingest receives life events from registries: POST /v1/events,
// CloudEvents 1.0 in structured JSON mode, one event or an atomic batch.
// An event is validated, given a deterministic id derived from its
// (source, id) idempotency key, and appended durably to its subject's person
// stream before the registry gets its 202.
//
// The rules live in a transport-free Submitter (validation, ownership,
// idempotency, the durable append) that the HTTP Handler wraps and that other
// transports share: adapters/brokeringest feeds it the CloudEvents that
// registries publish on NATS JetStream.
package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

const (
	// Path is where the handler is served, for POST.
	Path = "/v1/events"
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes = 1 << 20
	// MaxBatch is the most events a batch may hold.
	MaxBatch = 1000
	// DefaultMaxInFlight bounds concurrent requests when Config leaves it 0.
	DefaultMaxInFlight = 64
)

// Register is the view of known persons that ingest validates against and
// keeps up to date with the events it stores.
type Register interface {
	lifeevent.PersonLookup
	Apply(eventstore.RecordedEvent) error
}

// Config of a Handler or a Submitter. Store, Register and Clock are required.
type Config struct {
	Store    eventstore.Store
	Register Register
	Clock    clock.Clock
	// Metrics defaults to unexported metrics.
	Metrics *Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxInFlight is how many requests may be in progress at once; more are
	// answered 429 (HTTP only). It bounds memory to about MaxInFlight * MaxBodyBytes.
	MaxInFlight int
	// RetryAfter is suggested to clients refused under load (default 1s).
	RetryAfter time.Duration
	// TimeZoneValid reports whether an IANA zone exists; the default loads
	// it with time.LoadLocation (the binary should import time/tzdata).
	TimeZoneValid func(name string) bool
}

// Handler serves POST /v1/events: the HTTP transport around a Submitter.
type Handler struct {
	sub     *Submitter
	metrics *Metrics
	log     *slog.Logger
	slots   chan struct{}
}

// NewHandler checks cfg and returns the handler, with its own Submitter.
func NewHandler(cfg Config) (*Handler, error) {
	sub, err := NewSubmitter(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	return &Handler{
		sub:     sub,
		metrics: sub.metrics,
		log:     sub.log,
		slots:   make(chan struct{}, cfg.MaxInFlight),
	}, nil
}

// Submitter is the handler's transport-free core, for other transports
// (the broker) to share its register, metrics and rules.
func (h *Handler) Submitter() *Submitter { return h.sub }

// httpCredential names what authenticated the registry over HTTP.
const httpCredential = "this token's subject"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := h.serve(w, r)
	h.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

// serve answers the request and returns the status code it sent.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, problem.New(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "events are sent with POST"))
	}
	principal, ok := auth.FromContext(r.Context())
	if !ok {
		return h.fail(w, problem.Unauthorized("a bearer token is required"))
	}
	if principal.Role != auth.RoleRegistry {
		return h.fail(w, problem.Forbidden(fmt.Sprintf("only registries send events; this token's role is %s", principal.Role)))
	}
	batch, p := mediaType(r.Header.Get("Content-Type"))
	if p != nil {
		return h.fail(w, p)
	}
	if r.ContentLength > MaxBodyBytes {
		return h.fail(w, tooLarge(fmt.Sprintf("the body is %d bytes; at most %d are accepted", r.ContentLength, MaxBodyBytes)))
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		return h.fail(w, h.sub.unavailable(http.StatusTooManyRequests, "too-many-requests", "Too many requests",
			"too many requests are in progress; nothing was stored; retry later"))
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.fail(w, tooLarge(fmt.Sprintf("the body is over %d bytes", MaxBodyBytes)))
		}
		return h.fail(w, problem.BadRequest(fmt.Sprintf("could not read the body: %v", err)))
	}
	items, p := parseBody(body, batch)
	if p != nil {
		return h.fail(w, p)
	}
	accepted, refusal := h.sub.submit(r.Context(), Sender{Source: principal.Subject, Credential: httpCredential}, items, batch)
	if refusal != nil {
		return h.fail(w, refusal.Problem)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(accepted)
	return http.StatusAccepted
}

func (h *Handler) fail(w http.ResponseWriter, p *problem.Problem) int {
	h.log.Debug("events refused", "status", p.Status, "detail", p.Detail, "errors", len(p.Errors))
	problem.Write(w, p)
	return p.Status
}

func tooLarge(detail string) *problem.Problem {
	return problem.New(http.StatusRequestEntityTooLarge, "content-too-large", "Content too large", detail)
}
