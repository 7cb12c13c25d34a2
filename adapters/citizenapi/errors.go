package citizenapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
	"lifesituations/sagas/situations"
)

// FieldErrors lists refused corrections of a draft's fields, each by a
// JSON pointer into the confirm request ("/fields/address"). The saga
// returns it when the catalogue's rules refuse a correction; the API
// answers 400 with the same pointers.
type FieldErrors struct {
	Errors []problem.FieldError
}

func (e *FieldErrors) Error() string {
	if len(e.Errors) == 0 {
		return "invalid fields"
	}
	return fmt.Sprintf("%d invalid field(s), first %s: %s", len(e.Errors), e.Errors[0].Pointer, e.Errors[0].Detail)
}

// CorrectionErrors turns the catalogue's verdict on corrections
// (catalogue.ValidateCorrections) into a *FieldErrors; nil when there is
// nothing wrong.
func CorrectionErrors(errs []catalogue.FieldError) *FieldErrors {
	if len(errs) == 0 {
		return nil
	}
	out := &FieldErrors{Errors: make([]problem.FieldError, len(errs))}
	for i, e := range errs {
		out.Errors[i] = problem.FieldError{Pointer: e.Pointer, Detail: e.Detail}
	}
	return out
}

// notFound answers as if nothing existed: never a hint that it does.
func notFound(w http.ResponseWriter, what string) {
	problem.Write(w, problem.NotFound("no such "+what))
}

// readFailed answers a read model failure.
func (a *API) readFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, cabinet.ErrNotFound) {
		notFound(w, what)
		return
	}
	a.internal(w, r, err)
}

// commandFailed answers a command's error.
func (a *API) commandFailed(w http.ResponseWriter, r *http.Request, what string, err error) {
	var fields *FieldErrors
	var corrections *situations.ValidationError
	switch {
	case errors.As(err, &fields):
		problem.Write(w, problem.Validation("the corrections are not acceptable", fields.Errors))
	case errors.As(err, &corrections):
		problem.Write(w, problem.Validation("the corrections are not acceptable", CorrectionErrors(corrections.Errors).Errors))
	case errors.Is(err, situation.ErrNotFound):
		notFound(w, what)
	case errors.Is(err, situation.ErrConflict):
		problem.Write(w, problem.Conflict(strings.TrimSuffix(err.Error(), ": "+situation.ErrConflict.Error())))
	case errors.Is(err, situation.ErrInvalid):
		problem.Write(w, problem.BadRequest(strings.TrimSuffix(err.Error(), ": "+situation.ErrInvalid.Error())))
	case errors.Is(err, eventstore.ErrOverloaded):
		p := problem.New(http.StatusServiceUnavailable, "overloaded", "Overloaded", "too many changes at once; nothing was recorded, try again")
		p.RetryAfter = time.Second
		problem.Write(w, p)
	default:
		a.internal(w, r, err)
	}
}

// await waits for the cabinet to show a recorded change. When it does not
// in time, the change stands (it is in the log) and the client is told to
// read it again shortly.
func (a *API) await(w http.ResponseWriter, r *http.Request, pos eventstore.Position) bool {
	ctx, cancel := context.WithTimeout(r.Context(), awaitTimeout)
	defer cancel()
	if err := a.cab.WaitFor(ctx, pos); err != nil {
		a.log.Warn("cabinet behind a recorded change", "path", r.URL.Path, "position", pos, "err", err)
		p := problem.New(http.StatusServiceUnavailable, "catching-up", "Catching up",
			"the change was recorded, but the cabinet does not show it yet; read it again shortly")
		p.RetryAfter = time.Second
		problem.Write(w, p)
		return false
	}
	return true
}

// awaitTimeout bounds the wait for the cabinet after a command.
const awaitTimeout = 10 * time.Second

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("citizen request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	problem.Write(w, problem.New(http.StatusInternalServerError, "internal", "Internal error", "the request failed; it has been logged"))
}
