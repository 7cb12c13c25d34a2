package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"lifesituations/adapters/httpapi"
)

// TestOpenAPIListsEveryRoute keeps docs/openapi.yaml and the server in
// step: every route served is documented, and every documented operation
// is served.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	routes, pages, err := serverRoutes(nil, testDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	served := httpapi.Config{Routes: routes, Public: pages}.Patterns()
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("%s is served but not in docs/openapi.yaml", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("%s is in docs/openapi.yaml but not served", p)
		}
	}
}

// testDeps builds the API's dependencies on a core that is opened but not
// run, over an empty store.
func testDeps(t *testing.T) apiDeps {
	t.Helper()
	dir := t.TempDir()
	clk := clock.NewManual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	store, err := embedded.Open(dir, embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	log := slog.New(slog.DiscardHandler)
	c, err := openCore(store, clk, coreConfig{data: dir, partitions: 1, tick: time.Hour}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.close() })
	dev, err := auth.NewDev(dir, clk)
	if err != nil {
		t.Fatal(err)
	}
	return apiDeps{core: c, log: log, metrics: prometheus.NewRegistry(), dev: true, tokens: dev, auth: dev}
}
