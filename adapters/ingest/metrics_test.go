package ingest_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/ingest"
)

func TestMetricsCountEventsAndRequests(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	e := personRegistered(uuid.New(), "1990-05-01")

	postBatch(t, srv, e, personRegistered(uuid.New(), "1990-05-01")).wantAccepted(t, 2, 0)
	postEvent(t, srv, e).wantAccepted(t, 0, 1)
	postBatch(t, srv, personRegistered(uuid.New(), "1990-05-01"), personRegistered(uuid.New(), "1990-02-30")).
		wantProblem(t, http.StatusBadRequest, "/1/data/birth_date")
	postEvent(t, f.server(tax), e).wantProblem(t, http.StatusForbidden, "/source")
	post(t, srv, "text/plain", []byte("hello")).wantProblem(t, http.StatusUnsupportedMediaType)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"lifesituations_ingest_events_accepted_total", nil, 2},
		{"lifesituations_ingest_events_duplicate_total", nil, 1},
		{"lifesituations_ingest_events_rejected_total", []string{"reason", "malformed_field"}, 1},
		{"lifesituations_ingest_events_rejected_total", []string{"reason", "batch_rejected"}, 1},
		{"lifesituations_ingest_events_rejected_total", []string{"reason", "source_mismatch"}, 1},
		{"lifesituations_ingest_requests_total", []string{"code", "202"}, 2},
		{"lifesituations_ingest_requests_total", []string{"code", "400"}, 1},
		{"lifesituations_ingest_requests_total", []string{"code", "403"}, 1},
		{"lifesituations_ingest_requests_total", []string{"code", "415"}, 1},
		{"lifesituations_ingest_append_seconds", nil, 2},
		{"lifesituations_ingest_batch_size", nil, 4},
	} {
		if got := f.metric(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := ingest.NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.NewMetrics(reg); err == nil {
		t.Fatal("registering the ingest metrics twice succeeded")
	}
}
