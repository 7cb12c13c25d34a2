package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"lifesituations/adapters/httpapi/problem"
)

type served struct {
	code      int
	header    http.Header
	problem   problem.Problem
	principal Principal
}

// serve sends one request with the given Authorization header (none when
// empty) through Middleware(a) and then RequireRole(roles...).
func serve(t *testing.T, a Authenticator, authorization string, roles ...Role) served {
	t.Helper()
	var s served
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.principal, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	if len(roles) > 0 {
		h = RequireRole(roles...)(h)
	}
	h = Middleware(a)(h)
	req := httptest.NewRequest(http.MethodGet, "/v1/me/drafts", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	s.code, s.header = rec.Code, rec.Header()
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("content type %q, want application/problem+json", ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &s.problem); err != nil {
			t.Fatalf("problem body %s: %v", rec.Body, err)
		}
		if s.problem.Status != rec.Code {
			t.Errorf("problem status %d, response status %d", s.problem.Status, rec.Code)
		}
	}
	return s
}

func TestMiddlewareUnauthorized(t *testing.T) {
	d, c := newTestDev(t, t.TempDir())
	valid := issue(t, d, Principal{RoleCitizen, "p-1"})
	expiring := issue(t, d, Principal{RoleCitizen, "p-1"})
	other, _ := newTestDev(t, t.TempDir())
	foreign := issue(t, other, Principal{RoleCitizen, "p-1"})

	cases := []struct {
		name, authorization, detail string
	}{
		{"no header", "", "missing Authorization header"},
		{"basic scheme", "Basic dXNlcjpwYXNz", `authorization scheme is "Basic", want Bearer`},
		{"bare token", valid, "authorization header has no scheme"},
		{"empty token", "Bearer ", "empty bearer token"},
		{"bad signature", "Bearer " + foreign, "invalid signature"},
		{"garbage", "Bearer xyz", "malformed token"},
	}
	for _, tc := range cases {
		s := serve(t, d, tc.authorization)
		if s.code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, s.code)
			continue
		}
		if !strings.HasPrefix(s.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, s.header.Get("WWW-Authenticate"))
		}
		if !strings.Contains(s.problem.Detail, tc.detail) {
			t.Errorf("%s: detail %q, want it to contain %q", tc.name, s.problem.Detail, tc.detail)
		}
		if s.problem.Type != problem.TypeBase+"unauthorized" {
			t.Errorf("%s: type %q", tc.name, s.problem.Type)
		}
	}

	if err := c.Advance(13 * time.Hour); err != nil {
		t.Fatal(err)
	}
	s := serve(t, d, "Bearer "+expiring)
	if s.code != http.StatusUnauthorized || !strings.HasPrefix(s.problem.Detail, "token expired at ") {
		t.Fatalf("expired: status %d, detail %q", s.code, s.problem.Detail)
	}
	if got := s.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("expired: WWW-Authenticate %q", got)
	}
}

func TestMiddlewarePassesPrincipal(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	p := Principal{RoleCitizen, "3f0c1f6e-2d2b-4c59-9d1e-6b8f6c1a2b3c"}
	// The scheme is case-insensitive.
	s := serve(t, d, "bearer "+issue(t, d, p))
	if s.code != http.StatusNoContent || s.principal != p {
		t.Fatalf("status %d, principal %+v, want %+v", s.code, s.principal, p)
	}
}

func TestRequireRole(t *testing.T) {
	d, _ := newTestDev(t, t.TempDir())
	citizen := "Bearer " + issue(t, d, Principal{RoleCitizen, "p-1"})
	auditor := "Bearer " + issue(t, d, Principal{RoleAuditor, "auditor-1"})

	s := serve(t, d, citizen, RoleAgency, RoleAuditor)
	if s.code != http.StatusForbidden {
		t.Fatalf("citizen on an agency/auditor route: status %d, want 403", s.code)
	}
	if s.problem.Type != problem.TypeBase+"forbidden" || !strings.Contains(s.problem.Detail, `"citizen"`) {
		t.Errorf("problem %+v", s.problem)
	}
	if s := serve(t, d, auditor, RoleAgency, RoleAuditor); s.code != http.StatusNoContent || s.principal.Role != RoleAuditor {
		t.Errorf("auditor: status %d, principal %+v", s.code, s.principal)
	}
}

func TestRequireRoleWithoutMiddleware(t *testing.T) {
	h := RequireRole(RoleOperator)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler reached without a principal")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
}
