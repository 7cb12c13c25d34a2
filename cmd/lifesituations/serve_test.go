package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lifesituations/adapters/loadgen"
)

// TestMain lets a test run this binary's main as a child process (for the
// SIGKILL test) by re-executing the test binary.
func TestMain(m *testing.M) {
	if os.Getenv("LIFESITUATIONS_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// server is a serve command running in this process.
type server struct {
	url  string
	data string
	stop func() error
}

// startServer runs `lifesituations serve` in-process on a free port.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	full := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...)
	go func() {
		err := run(ctx, full, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		done <- err
	}()
	addr := waitListening(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	s := &server{url: "http://" + addr, data: data}
	var stopped bool
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = s.stop() })
	return s
}

// waitListening reads the server's stdout until its "listening on" line.
func waitListening(t *testing.T, r io.Reader) string {
	t.Helper()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- addr
				return
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			t.Fatal("server exited before listening")
		}
		return addr
	case <-time.After(60 * time.Second):
		t.Fatal("server did not print 'listening on' within 60s")
	}
	return ""
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func do(t *testing.T, method, url, token, ctype string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func devToken(t *testing.T, s *server, role, subject string) string {
	t.Helper()
	tok, err := loadgen.DevToken(context.Background(), http.DefaultClient, s.url, role, subject)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestServeOperationsAndIngest(t *testing.T) {
	s := startServer(t, "--clock", "manual")

	if r := do(t, "GET", s.url+"/healthz", "", "", nil); r.status != 200 {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", s.url+"/readyz", "", "", nil); r.status != 200 {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}

	// An unauthenticated request is refused with a problem, not served.
	r := do(t, "POST", s.url+"/v1/events", "", "application/cloudevents+json", []byte(`{}`))
	if r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("no token: want 401 problem, got %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}

	pop := devToken(t, s, "registry", loadgen.PopulationSource)
	ev, _ := json.Marshal(loadgen.Event("serve-test", 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	r = do(t, "POST", s.url+"/v1/events", pop, "application/cloudevents+json", ev)
	if r.status != 202 {
		t.Fatalf("event: want 202, got %d %s", r.status, r.body)
	}
	if got := r.json(t); got["accepted"] != 1.0 || got["duplicates"] != 0.0 {
		t.Fatalf("event: want accepted 1 duplicates 0, got %v", got)
	}
	r = do(t, "POST", s.url+"/v1/events", pop, "application/cloudevents+json", ev)
	if got := r.json(t); r.status != 202 || got["accepted"] != 0.0 || got["duplicates"] != 1.0 {
		t.Fatalf("resent event: want 202 accepted 0 duplicates 1, got %d %v", r.status, got)
	}

	// The manual clock moves forward, never back.
	r = do(t, "POST", s.url+"/v1/dev/clock", "", "application/json", []byte(`{"now":"2030-01-01T00:00:00Z"}`))
	if r.status != 200 || r.json(t)["now"] != "2030-01-01T00:00:00Z" {
		t.Fatalf("clock: %d %s", r.status, r.body)
	}
	r = do(t, "POST", s.url+"/v1/dev/clock", "", "application/json", []byte(`{"now":"2029-01-01T00:00:00Z"}`))
	if r.status != 400 || !strings.Contains(string(r.body), "/now") {
		t.Fatalf("clock back: want 400 naming /now, got %d %s", r.status, r.body)
	}

	r = do(t, "GET", s.url+"/metrics", "", "", nil)
	for _, want := range []string{
		"lifesituations_ingest_events_accepted_total 1",
		"lifesituations_ingest_events_duplicate_total 1",
		"lifesituations_ingest_append_seconds_bucket",
		"process_resident_memory_bytes",
		// The embedded store's background work, below its sealing.
		"lifesituations_store_flushes_total",
		"lifesituations_store_compaction_seconds_total",
		"lifesituations_store_write_stalls_total",
		// What the read models' commits cost, per model.
		`lifesituations_readmodel_writes_total{model="cabinet"}`,
		`lifesituations_readmodel_pages_written_total{model="register"}`,
		`lifesituations_readmodel_commit_seconds_total{model="cabinet"}`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// After a clean stop and a restart on the same data, the event is still
	// there (a resend is a duplicate) and the clock has not gone back.
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s2 := restart(t, s, "--clock", "manual")
	pop = devToken(t, s2, "registry", loadgen.PopulationSource)
	r = do(t, "POST", s2.url+"/v1/events", pop, "application/cloudevents+json", ev)
	if got := r.json(t); got["duplicates"] != 1.0 {
		t.Fatalf("after restart: resend must be a duplicate, got %d %v", r.status, got)
	}
	r = do(t, "POST", s2.url+"/v1/dev/clock", "", "application/json", []byte(`{"now":"2029-06-01T00:00:00Z"}`))
	if r.status != 400 {
		t.Fatalf("after restart the clock must not go back before 2030: %d %s", r.status, r.body)
	}
}

// restart starts a new server on the data directory of a stopped one.
func restart(t *testing.T, old *server, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", old.data}, args...), pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		done <- err
	}()
	addr := waitListening(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	s := &server{url: "http://" + addr, data: old.data}
	s.stop = func() error { cancel(); return <-done }
	t.Cleanup(func() { cancel() })
	return s
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	cases := map[string][]string{
		"manual clock in production": {"serve", "--mode", "prod", "--clock", "manual", "--oidc-issuer", "x", "--oidc-jwks-url", "y"},
		"production without OIDC":    {"serve", "--mode", "prod"},
		"unknown clock":              {"serve", "--clock", "sundial"},
		"unknown store":              {"serve", "--store", "postgres://x"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), append(args, "--data", filepath.Join(t.TempDir(), "d")), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("LIFESITUATIONS_CLOCK", "sundial")
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LIFESITUATIONS_CLOCK") {
		t.Fatalf("want an error naming LIFESITUATIONS_CLOCK, got %v", err)
	}
}
