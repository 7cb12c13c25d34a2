package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/domain/clock"
)

func newServer(t *testing.T, dev bool, routes ...httpapi.Route) (*httptest.Server, *auth.Dev) {
	t.Helper()
	tokens, err := auth.NewDev(t.TempDir(), clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{
		Dev: dev, Tokens: tokens, Auth: tokens,
		Ready:   func() error { return nil },
		Metrics: http.NotFoundHandler(),
		Routes:  routes,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(httpapi.NewHandler(cfg))
	t.Cleanup(srv.Close)
	return srv, tokens
}

func post(t *testing.T, url, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestProductionModeRefusesDevelopmentEndpoints(t *testing.T) {
	srv, _ := newServer(t, false)
	for _, path := range []string{"/v1/dev/token", "/v1/dev/clock"} {
		resp, body := post(t, srv.URL+path, "", `{"role":"citizen","subject":"x","now":"2027-01-01T00:00:00Z"}`)
		if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s in production: want 403 problem, got %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(body["detail"].(string), "development mode") {
			t.Errorf("%s: the refusal must say why, got %q", path, body["detail"])
		}
	}
}

func TestDevTokenForEveryRole(t *testing.T) {
	srv, tokens := newServer(t, true)
	for _, role := range auth.Roles {
		resp, body := post(t, srv.URL+"/v1/dev/token", "", `{"role":"`+string(role)+`","subject":"s-`+string(role)+`"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", role, resp.StatusCode, body)
		}
		p, err := tokens.Authenticate(t.Context(), body["token"].(string))
		if err != nil || p.Role != role || p.Subject != "s-"+string(role) {
			t.Fatalf("%s: token authenticates as %+v, %v", role, p, err)
		}
	}
}

func TestDevTokenNamesEveryBadField(t *testing.T) {
	srv, _ := newServer(t, true)
	resp, body := post(t, srv.URL+"/v1/dev/token", "", `{"role":"king"}`)
	if resp.StatusCode != 400 {
		t.Fatalf("want 400, got %d", resp.StatusCode)
	}
	errs, _ := body["errors"].([]any)
	var pointers []string
	for _, e := range errs {
		pointers = append(pointers, e.(map[string]any)["pointer"].(string))
	}
	if strings.Join(pointers, ",") != "/role,/subject" {
		t.Fatalf("want errors at /role and /subject, got %v", pointers)
	}
	resp, _ = post(t, srv.URL+"/v1/dev/token", "", `{"role":"citizen","subject":"x","extra":1}`)
	if resp.StatusCode != 400 {
		t.Fatalf("unknown field: want 400, got %d", resp.StatusCode)
	}
}

func TestClockNeedsManualClock(t *testing.T) {
	srv, _ := newServer(t, true)
	resp, body := post(t, srv.URL+"/v1/dev/clock", "", `{"now":"2027-01-01T00:00:00Z"}`)
	if resp.StatusCode != 409 || !strings.Contains(body["detail"].(string), "--clock manual") {
		t.Fatalf("want 409 saying to use --clock manual, got %d %v", resp.StatusCode, body)
	}
}

func TestRoutesAreAuthenticatedAndRoleChecked(t *testing.T) {
	var seen auth.Principal
	srv, tokens := newServer(t, true, httpapi.Route{
		Pattern: "POST /v1/things", Roles: []auth.Role{auth.RoleAuditor},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen, _ = auth.FromContext(r.Context())
			w.WriteHeader(204)
		}),
	})
	if resp, _ := post(t, srv.URL+"/v1/things", "", `{}`); resp.StatusCode != 401 {
		t.Fatalf("no token: want 401, got %d", resp.StatusCode)
	}
	citizen, _ := tokens.Issue(auth.Principal{Role: auth.RoleCitizen, Subject: "c"})
	if resp, _ := post(t, srv.URL+"/v1/things", citizen, `{}`); resp.StatusCode != 403 {
		t.Fatalf("wrong role: want 403, got %d", resp.StatusCode)
	}
	auditor, _ := tokens.Issue(auth.Principal{Role: auth.RoleAuditor, Subject: "a"})
	if resp, _ := post(t, srv.URL+"/v1/things", auditor, `{}`); resp.StatusCode != 204 || seen.Subject != "a" {
		t.Fatalf("auditor: want 204 with the principal, got %d %+v", resp.StatusCode, seen)
	}
	resp, body := post(t, srv.URL+"/v1/nothing", auditor, `{}`)
	if resp.StatusCode != 404 || body["status"] != 404.0 {
		t.Fatalf("unknown path: want 404 problem, got %d %v", resp.StatusCode, body)
	}
}

func TestPanicBecomesProblem(t *testing.T) {
	srv, tokens := newServer(t, true, httpapi.Route{
		Pattern: "POST /v1/boom", Roles: []auth.Role{auth.RoleOperator},
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") }),
	})
	op, _ := tokens.Issue(auth.Principal{Role: auth.RoleOperator, Subject: "o"})
	resp, body := post(t, srv.URL+"/v1/boom", op, `{}`)
	if resp.StatusCode != 500 || body["title"] != "Internal error" {
		t.Fatalf("want 500 problem, got %d %v", resp.StatusCode, body)
	}
	// The server still serves after the panic.
	if resp, _ := post(t, srv.URL+"/v1/dev/token", "", `{"role":"citizen","subject":"x"}`); resp.StatusCode != 200 {
		t.Fatalf("after a panic: %d", resp.StatusCode)
	}
}
