package population

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Content types of POST /v1/events.
const (
	ContentTypeEvent = "application/cloudevents+json"
	ContentTypeBatch = "application/cloudevents-batch+json"
)

// Event is one registry event as a registry sends it: a CloudEvent whose
// data is the life event's payload.
type Event struct {
	Source  string // the registry: lifeevent.Source*
	ID      string // unique per source
	Type    lifeevent.Type
	Subject string // the main person's id
	Time    time.Time
	Data    json.RawMessage

	// Applicant is the person in whose cabinet the life situation the event
	// opens shows up (the mother of a birth, the informant of a death); not
	// sent.
	Applicant string
}

type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time"`
	Subject         string          `json:"subject"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// MarshalJSON is the structured-mode CloudEvent.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: e.ID, Source: e.Source, Type: string(e.Type),
		Time: e.Time.Format(time.RFC3339Nano), Subject: e.Subject,
		DataContentType: "application/json", Data: e.Data,
	})
}

// Batch is the body of a batch request (ContentTypeBatch).
func Batch(events []Event) ([]byte, error) { return json.Marshal(events) }

// StoredID is the id the orchestrator stores the event under, derived from
// its idempotency key (source, id).
func (e Event) StoredID() uuid.UUID { return lifeevent.EventID(e.Source, e.ID) }

// Stream is the person stream the event is stored in: its subject's.
func (e Event) Stream() string { return lifeevent.StreamPrefix + e.Subject }

// Stored is the event exactly as ingest (adapters/ingest) stores it after
// validation: the data as sent, compacted; the business time and the
// provenance in the metadata; its own id as correlation id, since a life
// event starts a causal chain. RecordedAt is the store's to set. A bulk
// loader appending these directly gets the log an HTTP load would have
// made (a test in this package checks it against ingest).
func (e Event) Stored() eventstore.Event {
	id := e.StoredID()
	data := e.Data
	var compact bytes.Buffer
	if json.Compact(&compact, data) == nil {
		data = compact.Bytes()
	}
	return eventstore.Event{
		ID:            id,
		Type:          string(e.Type),
		SchemaVersion: lifeevent.SchemaVersion,
		Data:          data,
		Metadata: eventstore.Metadata{
			OccurredAt:    e.Time,
			Source:        e.Source,
			SourceEventID: e.ID,
			CorrelationID: id.String(),
			Actor:         e.Source,
		},
	}
}

// Appends groups events into one StreamAppend per run of consecutive
// events of the same stream, as ingest does, keeping their order in the log.
func Appends(events []Event) []eventstore.StreamAppend {
	var out []eventstore.StreamAppend
	for _, e := range events {
		stream := e.Stream()
		if n := len(out); n > 0 && out[n-1].Stream == stream {
			out[n-1].Events = append(out[n-1].Events, e.Stored())
			continue
		}
		out = append(out, eventstore.StreamAppend{Stream: stream, Expected: eventstore.Any, Events: []eventstore.Event{e.Stored()}})
	}
	return out
}
