package ingest

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of event ingestion.
type Metrics struct {
	accepted      prometheus.Counter
	duplicates    prometheus.Counter
	rejected      *prometheus.CounterVec
	requests      *prometheus.CounterVec
	appendSeconds prometheus.Histogram
	batchSize     prometheus.Histogram
}

// NewMetrics creates the ingest metrics and registers them on reg; with a
// nil reg they are counted but not exported.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lifesituations_ingest_events_accepted_total",
			Help: "Life events stored for the first time.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lifesituations_ingest_events_duplicate_total",
			Help: "Life events received again (same source and id) and not stored twice.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifesituations_ingest_events_rejected_total",
			Help: "Life events refused, by the reason of their first error; batch_rejected counts valid events of a refused batch.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifesituations_ingest_requests_total",
			Help: "POST /v1/events requests, by HTTP status code.",
		}, []string{"code"}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lifesituations_ingest_append_seconds",
			Help:    "Time to append a request's events durably to the event store.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lifesituations_ingest_batch_size",
			Help:    "Events per request.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.accepted, m.duplicates, m.rejected, m.requests, m.appendSeconds, m.batchSize} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				return nil, fmt.Errorf("ingest metrics: registered twice: %w", err)
			}
			return nil, fmt.Errorf("ingest metrics: %w", err)
		}
	}
	return m, nil
}
