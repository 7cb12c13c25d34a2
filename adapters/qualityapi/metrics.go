package qualityapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/projections/quality"
)

// Metrics exports the quality figures of every service at each scrape, the
// same as GET /v1/quality answers (the model as it stands, without waiting).
// A ratio with nothing to compute it from (no result, no draft finished, no
// rating yet) is left out rather than reported as 0.
type Metrics struct{ model Model }

// NewMetrics returns the collector; register it on the server's registry.
func NewMetrics(model Model) *Metrics { return &Metrics{model: model} }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("lifesituations_quality_"+name, help, append([]string{"service"}, labels...), nil)
}

var (
	descSteps = desc("steps_total",
		"Steps decided for the service (its volume): one per service, applicant and beneficiary in a situation.")
	descOutcomes = desc("outcomes_total",
		"Steps by how they were decided: granted_automatically (no application), granted_on_application, rejected (at the decision or by the agency), notified.", "outcome")
	descDrafts = desc("drafts_total",
		"Drafts by what became of them: created, confirmed, declined, expired, withdrawn (by a later event).", "status")
	descTime = desc("time_to_result_seconds",
		"Time from the start of the life event's day (in the person's time zone) to the step's result (granted, rejected or notified), to the minute; quantiles are nearest-rank over every result.")
	descNoApp = desc("granted_without_application_ratio",
		"Share of the service's steps granted at the decision, with no application.")
	descRejection = desc("rejection_ratio",
		"Rejected / (granted + rejected), whoever decided.")
	descConfirmation = desc("draft_confirmation_ratio",
		"Confirmed / (confirmed + declined + expired) drafts.")
	descRating = desc("rating_mean",
		"Mean rating (1 to 5) of the situations the service was part of; a citizen's last rating of a situation counts.")
	descRatings = desc("ratings",
		"Ratings in force of the situations the service was part of.")
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSteps, descOutcomes, descDrafts, descTime, descNoApp,
		descRejection, descConfirmation, descRating, descRatings} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	services, _ := m.model.Services()
	for _, s := range services {
		collect(ch, s)
	}
}

func collect(ch chan<- prometheus.Metric, s quality.Service) {
	counter := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{s.Service}, labels...)...)
	}
	gauge := func(d *prometheus.Desc, v *float64) {
		if v != nil {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, *v, s.Service)
		}
	}
	counter(descSteps, s.Volume)
	counter(descOutcomes, s.Outcomes.GrantedAutomatically, "granted_automatically")
	counter(descOutcomes, s.Outcomes.GrantedOnApplication, "granted_on_application")
	counter(descOutcomes, s.Outcomes.Rejected, "rejected")
	counter(descOutcomes, s.Outcomes.Notified, "notified")
	counter(descDrafts, s.Drafts.Created, "created")
	counter(descDrafts, s.Drafts.Confirmed, "confirmed")
	counter(descDrafts, s.Drafts.Declined, "declined")
	counter(descDrafts, s.Drafts.Expired, "expired")
	counter(descDrafts, s.Drafts.Withdrawn, "withdrawn")
	if s.Results > 0 && s.MedianTimeToResult != nil && s.P90TimeToResult != nil {
		ch <- prometheus.MustNewConstSummary(descTime, uint64(s.Results), s.SumTimeToResult,
			map[float64]float64{0.5: *s.MedianTimeToResult, 0.9: *s.P90TimeToResult}, s.Service)
	}
	gauge(descNoApp, s.GrantedWithoutApp)
	gauge(descRejection, s.RejectionRate)
	gauge(descConfirmation, s.DraftConfirmation)
	gauge(descRating, s.MeanRating)
	if s.Ratings > 0 {
		ch <- prometheus.MustNewConstMetric(descRatings, prometheus.GaugeValue, float64(s.Ratings), s.Service)
	}
}
