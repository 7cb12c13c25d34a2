// Package qualityapi serves the quality of services to operators and
// auditors (CONTRACT.md section 4, GET /v1/quality) and exports the same
// figures as Prometheus metrics (lifesituations_quality_*), both from the
// quality read model (projections/quality).
package qualityapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/quality"
)

// Model is the quality read model (quality.Projection).
type Model interface {
	Services() ([]quality.Service, eventstore.Position)
	WaitFor(ctx context.Context, pos eventstore.Position) error
}

// API serves GET /v1/quality.
type API struct {
	model Model
	store eventstore.Store
	log   *slog.Logger
	wait  time.Duration
}

// New returns the API: an answer covers everything stored when the request
// came, waiting up to wait (2 s when 0) for the model to fold it.
func New(model Model, store eventstore.Store, log *slog.Logger, wait time.Duration) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	return &API{model: model, store: store, log: log, wait: wait}
}

// Routes are the endpoints, for the roles operator and auditor.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{{
		Pattern: "GET /v1/quality",
		Roles:   []auth.Role{auth.RoleOperator, auth.RoleAuditor},
		Handler: http.HandlerFunc(a.get),
	}}
}

// Report is the answer: every service seen, by service code, and the log
// position the figures cover.
type Report struct {
	Position eventstore.Position `json:"position"`
	Items    []quality.Service   `json:"items"`
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	if _, ok := httpapi.Principal(w, r, "/v1/quality is", auth.RoleOperator, auth.RoleAuditor); !ok {
		return
	}
	last, err := a.store.LastPosition(r.Context())
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), a.wait)
		err = a.model.WaitFor(ctx, last)
		cancel()
	}
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		a.log.Warn("quality: the model is behind the log", "err", err)
		pr := problem.New(http.StatusServiceUnavailable, "catching-up", "Catching up",
			"the quality figures have not caught up with the log yet; try again")
		if errors.Is(err, context.DeadlineExceeded) {
			pr.RetryAfter = time.Second
		}
		problem.Write(w, pr)
		return
	}
	items, pos := a.model.Services()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(Report{Position: pos, Items: items})
}
