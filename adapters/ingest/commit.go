package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Accepted is the body of a 202.
type Accepted struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// commit appends the new events in one AppendMany and folds them into the
// register so that the next submission sees them, and only then answers.
func (s *Submitter) commit(ctx context.Context, items []*item) (Accepted, *Refusal) {
	var fresh []*item
	duplicates := 0
	for _, it := range items {
		if it.duplicate {
			duplicates++
		} else {
			fresh = append(fresh, it)
		}
	}
	appends := streamAppends(fresh)
	accepted := 0
	if len(appends) > 0 {
		timer := prometheus.NewTimer(s.metrics.appendSeconds)
		results, err := s.store.AppendMany(ctx, appends)
		timer.ObserveDuration()
		if err != nil {
			return Accepted{}, s.storeRefusal(err, items)
		}
		stored := 0
		for _, res := range results {
			stored += res.Duplicates
		}
		accepted, duplicates = len(fresh)-stored, duplicates+stored
		s.applyToRegister(ctx, appends, results)
	}
	s.metrics.accepted.Add(float64(accepted))
	s.metrics.duplicates.Add(float64(duplicates))
	s.log.Debug("life events stored", "events", len(items), "accepted", accepted, "duplicates", duplicates)
	return Accepted{Accepted: accepted, Duplicates: duplicates}, nil
}

// streamAppends groups events into one StreamAppend per run of consecutive
// events of the same stream, so that the global log keeps the batch's order
// (an event after the one registering its person stays after it).
func streamAppends(items []*item) []eventstore.StreamAppend {
	var appends []eventstore.StreamAppend
	for _, it := range items {
		stream := it.checked.Stream()
		if n := len(appends); n > 0 && appends[n-1].Stream == stream {
			appends[n-1].Events = append(appends[n-1].Events, toStored(it))
			continue
		}
		appends = append(appends, eventstore.StreamAppend{Stream: stream, Expected: eventstore.Any, Events: []eventstore.Event{toStored(it)}})
	}
	return appends
}

// toStored is the event as stored: the registry's data as sent (compacted),
// business time and provenance in the metadata. The life event starts a
// causal chain, so it is its own correlation id.
func toStored(it *item) eventstore.Event {
	data := it.ce.Data()
	var compact bytes.Buffer
	if json.Compact(&compact, data) == nil {
		data = compact.Bytes()
	}
	source := it.ce.Source()
	return eventstore.Event{
		ID:            it.id,
		Type:          string(it.checked.Type),
		SchemaVersion: lifeevent.SchemaVersion,
		Data:          data,
		Metadata: eventstore.Metadata{
			OccurredAt:    it.checked.Time,
			Source:        source,
			SourceEventID: it.ce.ID(),
			CorrelationID: it.id.String(),
			Actor:         source,
		},
	}
}

// applyToRegister folds what was written into the register. When a stream
// reports duplicates (the same event raced in from another request), the
// stored versions are folded instead of ours, since only they took effect.
func (s *Submitter) applyToRegister(ctx context.Context, appends []eventstore.StreamAppend, results []eventstore.AppendResult) {
	for i, a := range appends {
		if i < len(results) && results[i].Duplicates == 0 {
			for _, e := range a.Events {
				s.apply(eventstore.RecordedEvent{Event: e, Stream: a.Stream})
			}
			continue
		}
		ours := make(map[uuid.UUID]bool, len(a.Events))
		for _, e := range a.Events {
			ours[e.ID] = true
		}
		err := readStream(ctx, s.store, a.Stream, func(e eventstore.RecordedEvent) {
			if ours[e.ID] {
				s.apply(e)
			}
		})
		if err != nil {
			s.log.Error("register may lag: reading back stored events failed", "stream", a.Stream, "error", err)
		}
	}
}

func (s *Submitter) apply(e eventstore.RecordedEvent) {
	if err := s.register.Apply(e); err != nil {
		s.log.Error("register may lag: folding a stored event failed", "event_id", e.ID, "stream", e.Stream, "error", err)
	}
}

// storeRefusal answers a failed store call; nothing new was kept that a
// retry would not recognise, since a retry is idempotent.
func (s *Submitter) storeRefusal(err error, items []*item) *Refusal {
	reason := reasonStoreError
	distinct := reasonStoreError
	var p *problem.Problem
	switch {
	case errors.Is(err, eventstore.ErrOverloaded):
		reason, distinct = reasonOverloaded, reasonOverloaded
		p = s.unavailable(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"the event store is overloaded; nothing was stored; retry later")
	case errors.Is(err, eventstore.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		distinct = ReasonUnavailable
		s.log.Warn("events not stored", "error", err)
		p = s.unavailable(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"the event store is not available; retry later")
	default:
		s.log.Error("events not stored", "error", err)
		p = problem.New(http.StatusInternalServerError, "internal", "Internal error",
			"the events could not be stored; retry: a resend is never stored twice")
	}
	for range items {
		s.metrics.rejected.WithLabelValues(reason).Inc()
	}
	return &Refusal{Problem: p, Reasons: []string{distinct}, Err: err}
}
