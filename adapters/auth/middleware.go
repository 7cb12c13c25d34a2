package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"lifesituations/adapters/httpapi/problem"
)

// Authenticator verifies a bearer token and says who presented it.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Challenges sent with 401 (RFC 6750 section 3): without credentials the
// client only learns the scheme; with a refused token it also learns the
// token itself is the problem.
const (
	challenge             = `Bearer realm="lifesituations"`
	challengeInvalidToken = `Bearer realm="lifesituations", error="invalid_token"`
)

// Middleware authenticates every request with a and puts the Principal in its
// context. Requests without a valid bearer token get a 401 problem whose
// detail says what was wrong with it.
func Middleware(a Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, err := bearerToken(r.Header)
			if err != nil {
				unauthorized(w, challenge, err.Error())
				return
			}
			p, err := a.Authenticate(r.Context(), token)
			if err != nil {
				unauthorized(w, challengeInvalidToken, err.Error())
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// RequireRole lets through only principals holding one of roles; others get
// a 403 problem. It must run behind Middleware.
func RequireRole(roles ...Role) func(http.Handler) http.Handler {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	allowed := strings.Join(names, ", ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				// A route wired without Middleware: refuse rather than guess.
				unauthorized(w, challenge, "request is not authenticated")
				return
			}
			if !slices.Contains(roles, p.Role) {
				problem.Write(w, problem.Forbidden(fmt.Sprintf("role %q may not do this; allowed: %s", p.Role, allowed)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", errors.New("missing Authorization header; send Authorization: Bearer <token>")
	case 1:
	default:
		return "", errors.New("more than one Authorization header")
	}
	scheme, token, found := strings.Cut(strings.TrimSpace(values[0]), " ")
	switch {
	case !found && strings.EqualFold(scheme, "Bearer"):
		return "", errors.New("empty bearer token")
	case !found:
		// Without a scheme the value may be a bare token: do not echo it.
		return "", errors.New("authorization header has no scheme; send Authorization: Bearer <token>")
	case !strings.EqualFold(scheme, "Bearer"): // schemes are case-insensitive (RFC 9110 section 11.1)
		return "", fmt.Errorf("authorization scheme is %q, want Bearer", scheme)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", errors.New("empty bearer token")
	}
	return token, nil
}

func unauthorized(w http.ResponseWriter, challenge, detail string) {
	w.Header().Set("WWW-Authenticate", challenge)
	problem.Write(w, problem.Unauthorized(detail))
}
