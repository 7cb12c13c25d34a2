// Package ingest receives life events from registries: POST /v1/events,
// CloudEvents 1.0 in structured JSON mode, one event or an atomic batch.
// An event is validated, given a deterministic id derived from its
// (source, id) idempotency key, and appended durably to its subject's person
// stream before the registry gets its 202.
package ingest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

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

// Config of a Handler. Store, Register and Clock are required.
type Config struct {
	Store    eventstore.Store
	Register Register
	Clock    clock.Clock
	// Metrics defaults to unexported metrics.
	Metrics *Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxInFlight is how many requests may be in progress at once; more are
	// answered 429. It bounds memory to about MaxInFlight * MaxBodyBytes.
	MaxInFlight int
	// RetryAfter is suggested to clients refused under load (default 1s).
	RetryAfter time.Duration
	// TimeZoneValid reports whether an IANA zone exists; the default loads
	// it with time.LoadLocation (the binary should import time/tzdata).
	TimeZoneValid func(name string) bool
}

// Handler serves POST /v1/events.
type Handler struct {
	store      eventstore.Store
	register   Register
	clock      clock.Clock
	metrics    *Metrics
	log        *slog.Logger
	validator  lifeevent.Validator
	slots      chan struct{}
	retryAfter time.Duration
}

// NewHandler checks cfg and returns the handler.
func NewHandler(cfg Config) (*Handler, error) {
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
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.TimeZoneValid == nil {
		cfg.TimeZoneValid = (&zoneCache{}).valid
	}
	return &Handler{
		store:      cfg.Store,
		register:   cfg.Register,
		clock:      cfg.Clock,
		metrics:    cfg.Metrics,
		log:        cfg.Logger,
		validator:  lifeevent.Validator{TimeZoneValid: cfg.TimeZoneValid},
		slots:      make(chan struct{}, cfg.MaxInFlight),
		retryAfter: cfg.RetryAfter,
	}, nil
}

// item is one event of a request on its way through the handler.
type item struct {
	index int
	ce    event.Event
	// id is the stored event id, set once the envelope is valid.
	id        uuid.UUID
	errs      []lifeevent.FieldError
	checked   lifeevent.Event
	duplicate bool
}

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
		return h.fail(w, h.unavailable(http.StatusTooManyRequests, "too-many-requests", "Too many requests",
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
	raws, p := split(body, batch)
	if p != nil {
		return h.fail(w, p)
	}
	items := make([]*item, len(raws))
	for i, raw := range raws {
		ce, errs := parseEvent(raw)
		items[i] = &item{index: i, ce: ce, errs: errs}
	}
	h.metrics.batchSize.Observe(float64(len(items)))

	if p := h.authorize(principal, items, batch); p != nil {
		return h.fail(w, p)
	}
	if p := h.validate(r, items, batch); p != nil {
		return h.fail(w, p)
	}
	return h.commit(r, w, items)
}

func (h *Handler) fail(w http.ResponseWriter, p *problem.Problem) int {
	h.log.Debug("events refused", "status", p.Status, "detail", p.Detail, "errors", len(p.Errors))
	problem.Write(w, p)
	return p.Status
}

func (h *Handler) unavailable(status int, slug, title, detail string) *problem.Problem {
	p := problem.New(status, slug, title, detail)
	p.RetryAfter = h.retryAfter
	return p
}

func tooLarge(detail string) *problem.Problem {
	return problem.New(http.StatusRequestEntityTooLarge, "content-too-large", "Content too large", detail)
}
