package ingest

import (
	"fmt"
	"strconv"
	"strings"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/lifeevent"
)

// Rejection reasons counted besides the validator's.
const (
	reasonSourceMismatch = "source_mismatch"
	reasonNotOwner       = "not_owner"
	reasonBatchRejected  = "batch_rejected"
	reasonOverloaded     = "overloaded"
	reasonStoreError     = "store_error"
)

// authorize checks that the registry sends only as itself and only the
// types it owns. It returns a 403 naming every offending event.
func (s *Submitter) authorize(from Sender, items []*item, batch bool) *Refusal {
	var errs []problem.FieldError
	var indexes []string
	var distinct []string
	reasons := make(map[int]string)
	for _, it := range items {
		source := it.ce.Source()
		if it.ce.Context == nil || source == "" {
			continue
		}
		t := lifeevent.Type(it.ce.Type())
		switch {
		case source != from.Source:
			reasons[it.index] = reasonSourceMismatch
			errs = append(errs, problem.FieldError{Pointer: at(batch, it.index, "/source"),
				Detail: fmt.Sprintf("source %q is not %s %q", source, from.credential(), from.Source)})
		case t.Known() && !t.OwnedBy(source):
			reasons[it.index] = reasonNotOwner
			errs = append(errs, problem.FieldError{Pointer: at(batch, it.index, "/type"),
				Detail: fmt.Sprintf("%s events come from %s, not from %s", t, t.Owner(), source)})
		default:
			continue
		}
		indexes = append(indexes, strconv.Itoa(it.index))
		distinct = appendReason(distinct, reasons[it.index])
	}
	if len(errs) == 0 {
		return nil
	}
	for _, it := range items {
		reason, ok := reasons[it.index]
		if !ok {
			reason = reasonBatchRejected
		}
		s.metrics.rejected.WithLabelValues(reason).Inc()
	}
	detail := "this registry may not send this event"
	if batch {
		detail = "this registry may not send the events at index " + strings.Join(indexes, ", ") + "; nothing was stored"
	}
	p := problem.Forbidden(detail)
	p.Errors = errs
	return refuse(p, distinct...)
}
