// Package httpapi assembles the public HTTP interface: operations endpoints,
// development helpers and the authenticated /v1 API.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi/problem"
)

// TokenIssuer issues development tokens.
type TokenIssuer interface {
	Issue(p auth.Principal) (string, error)
}

// ClockSetter moves a manual clock; it returns once due timers have fired.
type ClockSetter interface {
	SetClock(r *http.Request, now string) (string, error)
}

// Config holds what the HTTP interface serves.
type Config struct {
	// Dev enables /v1/dev/*; in production mode they answer 403.
	Dev bool
	// Tokens issues development tokens; required when Dev.
	Tokens TokenIssuer
	// Clock moves the manual clock; nil when the clock is the system's.
	Clock ClockSetter
	// Auth authenticates bearer tokens of /v1 requests.
	Auth auth.Authenticator
	// Ready reports nil once the store is open and subscriptions caught up.
	Ready func() error
	// Metrics serves /metrics.
	Metrics http.Handler
	// Routes adds the authenticated /v1 routes (ingest, citizens, ...).
	Routes []Route
	// Public adds routes served without a token (the web cabinet's pages).
	Public []PublicRoute
	Logger *slog.Logger
}

// PublicRoute is an endpoint served without authentication.
type PublicRoute struct {
	Pattern string
	Handler http.Handler
}

// Route is one authenticated endpoint.
type Route struct {
	Pattern string // e.g. "POST /v1/events"
	Roles   []auth.Role
	Handler http.Handler
}

// NewHandler returns the root handler.
func NewHandler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := cfg.Ready(); err != nil {
			p := problem.New(http.StatusServiceUnavailable, "not-ready", "Not ready", err.Error())
			problem.Write(w, p)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", cfg.Metrics)
	mux.HandleFunc("POST /v1/dev/token", devOnly(cfg.Dev, devToken(cfg.Tokens)))
	mux.HandleFunc("POST /v1/dev/clock", devOnly(cfg.Dev, devClock(cfg.Clock)))

	authn := auth.Middleware(cfg.Auth)
	for _, rt := range cfg.Routes {
		mux.Handle(rt.Pattern, authn(auth.RequireRole(rt.Roles...)(rt.Handler)))
	}
	for _, rt := range cfg.Public {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.NotFound("no such endpoint: "+r.Method+" "+r.URL.Path))
	})
	return recoverPanics(cfg.Logger, mux)
}

func devOnly(dev bool, h http.HandlerFunc) http.HandlerFunc {
	if dev {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.New(http.StatusForbidden, "dev-mode-only", "Development endpoint",
			r.URL.Path+" exists only in development mode (--mode dev); this server runs in production mode"))
	}
}

func devToken(issuer TokenIssuer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Role    string `json:"role"`
			Subject string `json:"subject"`
		}
		if p := decodeJSON(r, &req); p != nil {
			problem.Write(w, p)
			return
		}
		var errs []problem.FieldError
		role, err := auth.ParseRole(req.Role)
		if err != nil {
			errs = append(errs, problem.FieldError{Pointer: "/role", Detail: err.Error()})
		}
		if req.Subject == "" {
			errs = append(errs, problem.FieldError{Pointer: "/subject", Detail: "subject is required: a person id for a citizen, a registry source URI for a registry"})
		}
		if len(errs) > 0 {
			problem.Write(w, problem.Validation("the token request is invalid", errs))
			return
		}
		token, err := issuer.Issue(auth.Principal{Role: role, Subject: req.Subject})
		if err != nil {
			problem.Write(w, problem.New(http.StatusInternalServerError, "internal", "Internal error", "issuing the token failed"))
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"token": token})
	}
}

func devClock(c ClockSetter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c == nil {
			problem.Write(w, problem.Conflict("the server runs on the system clock; start it with --clock manual to move time"))
			return
		}
		var req struct {
			Now string `json:"now"`
		}
		if p := decodeJSON(r, &req); p != nil {
			problem.Write(w, p)
			return
		}
		now, err := c.SetClock(r, req.Now)
		if err != nil {
			var p *problem.Problem
			if errors.As(err, &p) {
				problem.Write(w, p)
				return
			}
			problem.Write(w, problem.Validation("the clock cannot be set", []problem.FieldError{{Pointer: "/now", Detail: err.Error()}}))
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"now": now})
	}
}

// maxJSONBody bounds the small JSON bodies of non-ingest endpoints.
const maxJSONBody = 64 << 10

// decodeJSON reads a small JSON object body, refusing unknown fields.
func decodeJSON(r *http.Request, v any) *problem.Problem {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return problem.New(http.StatusRequestEntityTooLarge, "too-large", "Request too large", "the body must be at most 64 KiB")
		}
		return problem.BadRequest("the body must be a JSON object: " + err.Error())
	}
	return nil
}

// recoverPanics turns a handler panic into a 500 problem: a bug in one
// request must never take the server down.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				problem.Write(w, problem.New(http.StatusInternalServerError, "internal", "Internal error", "the request failed; it has been logged"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Patterns lists every route served, as "METHOD /path", for the test that
// keeps docs/openapi.yaml in step with the code.
func (cfg Config) Patterns() []string {
	out := []string{"GET /healthz", "GET /readyz", "GET /metrics", "POST /v1/dev/token", "POST /v1/dev/clock"}
	for _, rt := range cfg.Routes {
		out = append(out, rt.Pattern)
	}
	for _, p := range cfg.Public {
		out = append(out, p.Pattern)
	}
	return out
}
