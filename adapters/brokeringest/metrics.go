package brokeringest

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a registry message.
const (
	outcomeStored       = "stored"
	outcomeDeadLettered = "dead_lettered"
	outcomeRetried      = "retried"
)

type metrics struct {
	messages *prometheus.CounterVec
	seconds  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lifesituations_broker_ingest_messages_total",
			Help: "Registry messages from the broker, by outcome: stored (or recognised as a resend), dead_lettered, retried (delivered again later).",
		}, []string{"outcome"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lifesituations_broker_ingest_handle_seconds",
			Help:    "Time to handle one registry message from the broker, up to its durable append or dead letter.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, o := range []string{outcomeStored, outcomeDeadLettered, outcomeRetried} {
		m.messages.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.messages, m.seconds} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if errors.As(err, &already) {
				return nil, fmt.Errorf("broker ingest metrics: registered twice: %w", err)
			}
			return nil, fmt.Errorf("broker ingest metrics: %w", err)
		}
	}
	return m, nil
}
