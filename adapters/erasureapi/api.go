// Package erasureapi serves the erasure of a person's personal data, with
// four eyes: an operator requests it (POST /v1/erasures), an auditor who is
// not the requester approves it (POST /v1/erasures/{id}/approve), and both
// read it (GET /v1/erasures/{id}). See sagas/erasure for what approving
// does.
package erasureapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
	"lifesituations/sagas/erasure"
)

// maxBody bounds a request body.
const maxBody = 16 << 10

// API serves /v1/erasures. A nil service (a store that is not sealed, so
// has no key store) answers every call 501.
type API struct {
	svc     *erasure.Service
	visible func(context.Context, eventstore.Position) error
	log     *slog.Logger
}

// New returns the API. visible, when given, waits until the read models
// have folded the log up to a position: an approval is answered once the
// cabinets and the register no longer show what it erased.
func New(svc *erasure.Service, visible func(context.Context, eventstore.Position) error, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	return &API{svc: svc, visible: visible, log: log}
}

// Routes are the erasure endpoints.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "POST /v1/erasures", Roles: []auth.Role{auth.RoleOperator}, Handler: a.available(a.request)},
		{Pattern: "POST /v1/erasures/{id}/approve", Roles: []auth.Role{auth.RoleAuditor}, Handler: a.available(a.approve)},
		{Pattern: "GET /v1/erasures/{id}", Roles: []auth.Role{auth.RoleOperator, auth.RoleAuditor}, Handler: a.available(a.get)},
	}
}

func (a *API) available(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.svc == nil {
			problem.Write(w, problem.New(http.StatusNotImplemented, "erasure-unavailable", "Erasure unavailable",
				"erasure needs a key store (the personal-data decorator over the event store); this server runs without one"))
			return
		}
		h(w, r)
	}
}

// request: POST /v1/erasures {"person_id": "...", "reason": "..."}.
func (a *API) request(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var body struct {
		PersonID string `json:"person_id"`
		Reason   string `json:"reason"`
	}
	if prob := decode(r, &body); prob != nil {
		problem.Write(w, prob)
		return
	}
	req, err := a.svc.Request(r.Context(), body.PersonID, body.Reason, p.Subject)
	if err != nil {
		a.failed(w, err)
		return
	}
	w.Header().Set("Location", "/v1/erasures/"+req.ID.String())
	httpapi.WriteJSON(w, http.StatusCreated, req)
}

// approve: POST /v1/erasures/{id}/approve.
func (a *API) approve(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	if prob := decode(r, &struct{}{}); prob != nil {
		problem.Write(w, prob)
		return
	}
	req, err := a.svc.Approve(r.Context(), id, p.Subject)
	if err == nil && a.visible != nil && req.Position > 0 {
		err = a.visible(r.Context(), req.Position)
	}
	if err != nil {
		a.failed(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, req)
}

// get: GET /v1/erasures/{id}.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	req, err := a.svc.Get(r.Context(), id)
	if err != nil {
		a.failed(w, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, req)
}

func requestID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		problem.Write(w, problem.NotFound("no such erasure request"))
		return uuid.Nil, false
	}
	return id, true
}

func (a *API) failed(w http.ResponseWriter, err error) {
	var invalid *erasure.InvalidError
	switch {
	case errors.As(err, &invalid):
		errs := make([]problem.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			errs[i] = problem.FieldError{Pointer: "/" + f.Field, Detail: f.Detail}
		}
		problem.Write(w, problem.Validation("the erasure request is not acceptable", errs))
	case errors.Is(err, erasure.ErrUnknownPerson):
		problem.Write(w, problem.NotFound("no such person"))
	case errors.Is(err, erasure.ErrNotFound):
		problem.Write(w, problem.NotFound("no such erasure request"))
	case errors.Is(err, erasure.ErrSamePrincipal):
		problem.Write(w, problem.New(http.StatusForbidden, "four-eyes", "Four eyes required",
			"an erasure must be approved by someone other than the one who requested it"))
	case errors.Is(err, erasure.ErrAlreadyErased):
		problem.Write(w, problem.Conflict("the person's personal data is erased already"))
	default:
		a.log.Error("erasure failed", "err", err)
		problem.Write(w, problem.New(http.StatusInternalServerError, "internal", "Internal error", "the erasure could not be carried out; nothing was recorded unless GET says so"))
	}
}

// decode reads an optional JSON object body, refusing unknown fields.
func decode(r *http.Request, v any) *problem.Problem {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return problem.New(http.StatusRequestEntityTooLarge, "too-large", "Request too large", "the body must be at most 16 KiB")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.BadRequest("the body must be a JSON object with the documented fields: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.BadRequest("the body must be one JSON object, with nothing after it")
	}
	return nil
}
