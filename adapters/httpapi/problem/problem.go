// Package problem writes RFC 9457 problem details, the one error format of
// the public API.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// FieldError names one invalid field by JSON pointer into the request.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// TypeBase prefixes every problem type URI; the documentation under
// docs/api.md explains each.
const TypeBase = "https://lifesituations.example/problems/"

// New builds a problem of the given status with a type slug.
func New(status int, slug, title, detail string) *Problem {
	return &Problem{Type: TypeBase + slug, Title: title, Status: status, Detail: detail}
}

// Validation builds a 400 listing every invalid field.
func Validation(detail string, errs []FieldError) *Problem {
	p := New(http.StatusBadRequest, "validation", "Invalid request", detail)
	p.Errors = errs
	return p
}

// Common problems.
func BadRequest(detail string) *Problem {
	return New(http.StatusBadRequest, "bad-request", "Bad request", detail)
}
func Unauthorized(detail string) *Problem {
	return New(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
}
func Forbidden(detail string) *Problem {
	return New(http.StatusForbidden, "forbidden", "Forbidden", detail)
}
func NotFound(detail string) *Problem {
	return New(http.StatusNotFound, "not-found", "Not found", detail)
}
func Conflict(detail string) *Problem {
	return New(http.StatusConflict, "conflict", "Conflict", detail)
}

// Write sends p as application/problem+json.
func Write(w http.ResponseWriter, p *Problem) {
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
