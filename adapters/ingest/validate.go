package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

// validate checks every event against its type's rules, each seeing the
// persons registered by the events before it in the batch. An event that
// fails but is already stored is a resend, not an error: the rules or the
// register may have changed since it was accepted, and a resend must still
// be answered as a duplicate. It returns a 400 listing every invalid event.
func (s *Submitter) validate(ctx context.Context, items []*item, batch bool) *Refusal {
	now := s.clock.Now()
	overlay := register.NewOverlay(s.register)
	seen := make(map[uuid.UUID]bool, len(items))
	var suspects []*item
	for _, it := range items {
		if len(it.errs) > 0 {
			continue
		}
		it.id = lifeevent.EventID(it.ce.Source(), it.ce.ID())
		if seen[it.id] {
			// The same (source, id) twice in one request: stored once.
			it.duplicate = true
			continue
		}
		seen[it.id] = true
		in := lifeevent.Input{Type: it.ce.Type(), Subject: it.ce.Subject(), Time: it.ce.Time(), Data: it.ce.Data()}
		checked, errs := s.validator.Validate(in, overlay, now)
		if len(errs) > 0 {
			it.errs = errs
			suspects = append(suspects, it)
			continue
		}
		it.checked = checked
		overlay.Apply(checked.Payload)
	}
	if err := s.forgiveResends(ctx, suspects); err != nil {
		return s.storeRefusal(err, items)
	}
	return s.invalid(items, batch)
}

// forgiveResends marks as duplicates the invalid events already stored.
func (s *Submitter) forgiveResends(ctx context.Context, suspects []*item) error {
	streams := make(map[string]map[uuid.UUID]bool)
	for _, it := range suspects {
		subject, err := lifeevent.ParseID(it.ce.Subject())
		if err != nil || !lifeevent.Type(it.ce.Type()).Known() {
			continue // never stored: every stored event has both
		}
		stream := lifeevent.PersonStream(subject)
		ids, ok := streams[stream]
		if !ok {
			if ids, err = storedIDs(ctx, s.store, stream); err != nil {
				return err
			}
			streams[stream] = ids
		}
		if ids[it.id] {
			it.errs, it.duplicate = nil, true
		}
	}
	return nil
}

// storedIDs reads the ids of every event of a stream.
func storedIDs(ctx context.Context, store eventstore.Store, stream string) (map[uuid.UUID]bool, error) {
	ids := make(map[uuid.UUID]bool)
	err := readStream(ctx, store, stream, func(e eventstore.RecordedEvent) { ids[e.ID] = true })
	return ids, err
}

// readStream calls fn for every event of a stream, in order; a stream with
// no event is empty, not an error.
func readStream(ctx context.Context, store eventstore.Store, stream string, fn func(eventstore.RecordedEvent)) error {
	const page = 500
	var from eventstore.Revision
	for {
		events, err := store.ReadStream(ctx, stream, from, eventstore.Forwards, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s from revision %d: %w", stream, from, err)
		}
		for _, e := range events {
			fn(e)
			from = e.Revision + 1
		}
		if len(events) < page {
			return nil
		}
	}
}

// invalid builds the 400 listing every invalid event, or returns nil.
func (s *Submitter) invalid(items []*item, batch bool) *Refusal {
	var errs []problem.FieldError
	var indexes []string
	var reasons []string
	for _, it := range items {
		for _, e := range it.errs {
			errs = append(errs, problem.FieldError{Pointer: at(batch, it.index, e.Pointer), Detail: e.Detail})
			reasons = appendReason(reasons, string(e.Reason))
		}
		if len(it.errs) > 0 {
			indexes = append(indexes, strconv.Itoa(it.index))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	for _, it := range items {
		reason := reasonBatchRejected
		if len(it.errs) > 0 {
			reason = string(it.errs[0].Reason)
		}
		s.metrics.rejected.WithLabelValues(reason).Inc()
	}
	detail := "the event is invalid; nothing was stored"
	if batch {
		detail = "the events at index " + strings.Join(indexes, ", ") + " are invalid; the batch is atomic, so nothing was stored"
	}
	return refuse(problem.Validation(detail, errs), reasons...)
}
