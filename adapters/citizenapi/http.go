package citizenapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
)

// handler serves one citizen's request; person is the principal's subject.
type handler func(w http.ResponseWriter, r *http.Request, person string)

// citizen lets through only an authenticated citizen, whatever the router
// in front checked already.
func (a *API) citizen(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := httpapi.Principal(w, r, "/v1/me is", auth.RoleCitizen)
		if !ok {
			return
		}
		if p.Subject == "" {
			problem.Write(w, problem.Forbidden("the token names no person"))
			return
		}
		h(w, r, p.Subject)
	})
}

// pathID is the {id} of the path; false when it is not a UUID, which can
// name nothing the citizen sees.
func pathID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil
}

// maxBody bounds the small JSON bodies of these endpoints.
const maxBody = 64 << 10

// decodeBody reads an optional JSON object into v, refusing unknown fields
// and trailing data; an empty body leaves v as it is.
func decodeBody(r *http.Request, v any) *problem.Problem {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return problem.New(http.StatusRequestEntityTooLarge, "too-large", "Request too large", "the body must be at most 64 KiB")
		}
		return problem.BadRequest("reading the body failed: " + err.Error())
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.BadRequest("the body must be a JSON object: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.BadRequest("the body must be one JSON object, with nothing after it")
	}
	return nil
}

// list is the shape of every list response.
type list[T any] struct {
	Items []T `json:"items"`
}

func writeList[T any](w http.ResponseWriter, items []T) {
	if items == nil {
		items = []T{}
	}
	httpapi.WriteJSON(w, http.StatusOK, list[T]{Items: items})
}
