package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/adapters/loadgen"
	"lifesituations/domain/clock"
	"lifesituations/projections/register"
)

// Ingest over HTTP on loopback into a durable embedded store, with the
// handler built as `lifesituations serve` builds it (register index,
// registered metrics, 256 requests in flight) and the population registry's
// principal put in the context the way the other tests of this package do.
// The load is adapters/loadgen, the generator behind `lifesituations bench
// ingest`, so client and server share the machine as they do on loopback.
//
//	go test -run '^$' -bench . -benchtime 200x ./adapters/ingest
//
// One op is one request; events/s is the figure to read.

// benchMaxInFlight is serve's --max-inflight default.
const benchMaxInFlight = 256

// benchServer serves a fresh handler over a fresh store in b.TempDir().
func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	store, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatalf("open store: %v", err)
	}
	b.Cleanup(func() { _ = store.Close() })
	metrics, err := ingest.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatalf("metrics: %v", err)
	}
	h, err := ingest.NewHandler(ingest.Config{
		Store: store, Register: register.NewIndex(), Clock: clock.NewManual(t0), Metrics: metrics,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxInFlight: benchMaxInFlight,
	})
	if err != nil {
		b.Fatalf("handler: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), population)))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchIngest sends b.N requests of batch events each from clients
// concurrent clients and reports events/s.
func benchIngest(b *testing.B, batch, clients int) {
	srv := benchServer(b)
	cfg := loadgen.Config{
		URL:     srv.URL,
		Token:   "unused", // the principal is set by benchServer
		Events:  b.N * batch,
		Batch:   batch,
		Clients: clients,
		Client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}},
	}
	b.Cleanup(cfg.Client.CloseIdleConnections)
	b.ResetTimer()
	res, err := loadgen.Run(context.Background(), cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Events != cfg.Events {
		b.Fatalf("%d events accepted, want %d", res.Events, cfg.Events)
	}
	b.ReportMetric(float64(res.Events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(res.Percentile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(res.Retries), "retries")
}

// BenchmarkIngestBatch500 posts atomic batches of 500 person.registered
// events from 4 concurrent clients.
func BenchmarkIngestBatch500(b *testing.B) {
	const batch, clients = 500, 4
	b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchIngest(b, batch, clients) })
}

// BenchmarkIngestSingle64 posts single events from 64 concurrent clients:
// the store's group commit shares each sync among them.
func BenchmarkIngestSingle64(b *testing.B) {
	const clients = 64
	b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchIngest(b, 1, clients) })
}
