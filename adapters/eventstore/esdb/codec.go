package esdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
)

var (
	// ErrInvalidStream is returned for an empty stream name, a system
	// stream ("$..."), or a stream in the adapter's reserved namespace.
	ErrInvalidStream = errors.New("invalid stream name")
	// ErrInvalidEvent is returned for an event without id or type, with a
	// system type ("$..."), or whose data is not JSON.
	ErrInvalidEvent = errors.New("invalid event")
)

// MarkerStreamPrefix names the streams the adapter keeps one per event id
// (see the package documentation): "lifesituations-eventid-<uuid>".
// Streams with this prefix are reserved.
const MarkerStreamPrefix = "lifesituations-eventid-"

// markerType is the type of the intent events in marker streams. It starts
// with "$", so that EventStoreDB's usual system-event filter and the port's
// reads leave it out.
const markerType = "$lifesituations-append-intent"

func markerStream(id uuid.UUID) string { return MarkerStreamPrefix + id.String() }

// isPortEvent tells the events of $all that are the port's: the others are
// EventStoreDB's own (system streams, system types, links) and the
// adapter's markers. Every read, subscription and the position index use
// this one rule, so that they count the same events.
func isPortEvent(stream, typ string) bool {
	// A type must have a first character that is not "$": the index's
	// server-side filter (^[^$]) says so, and every count must agree.
	return typ != "" && !strings.HasPrefix(typ, "$") && !strings.HasPrefix(stream, "$") && !strings.HasPrefix(stream, MarkerStreamPrefix) && !strings.HasPrefix(stream, KeyStreamPrefix)
}

func checkStream(stream string) error {
	switch {
	case stream == "":
		return fmt.Errorf("%w: empty", ErrInvalidStream)
	case strings.HasPrefix(stream, "$"):
		return fmt.Errorf("%w: %q is an EventStoreDB system stream", ErrInvalidStream, stream)
	case strings.HasPrefix(stream, MarkerStreamPrefix):
		return fmt.Errorf("%w: %q is reserved for the adapter's event-id markers", ErrInvalidStream, stream)
	case strings.HasPrefix(stream, KeyStreamPrefix):
		return fmt.Errorf("%w: %q is reserved for the persons' keys", ErrInvalidStream, stream)
	}
	return nil
}

func checkEvent(ev *eventstore.Event) error {
	switch {
	case ev.ID == uuid.Nil:
		return fmt.Errorf("%w: no id", ErrInvalidEvent)
	case ev.Type == "":
		return fmt.Errorf("%w: %s: no type", ErrInvalidEvent, ev.ID)
	case strings.HasPrefix(ev.Type, "$"):
		return fmt.Errorf("%w: %s: type %q: types starting with $ are EventStoreDB's", ErrInvalidEvent, ev.ID, ev.Type)
	case len(ev.Data) > 0 && !jsonscan.IsJSON(ev.Data):
		return fmt.Errorf("%w: %s: data is not JSON", ErrInvalidEvent, ev.ID)
	}
	return nil
}

// wireMetadata is the JSON in an EventStoreDB event's metadata. RecordedAt
// is not in it: it is the server's "created" stamp of the event.
// $correlationId and $causationId are EventStoreDB's own names, which its
// system projections ($by_correlation_id) understand.
type wireMetadata struct {
	SchemaVersion    int               `json:"schema_version"`
	OccurredAt       time.Time         `json:"occurred_at"`
	Source           string            `json:"source,omitempty"`
	SourceEventID    string            `json:"source_event_id,omitempty"`
	CorrelationID    string            `json:"correlation_id,omitempty"`
	CausationID      string            `json:"causation_id,omitempty"`
	Actor            string            `json:"actor,omitempty"`
	CatalogueVersion string            `json:"catalogue_version,omitempty"`
	Extra            map[string]string `json:"extra,omitempty"`
	ESCorrelationID  string            `json:"$correlationId,omitempty"`
	ESCausationID    string            `json:"$causationId,omitempty"`
	// RecordedAt is set only by a store opened WithClock.
	RecordedAt *time.Time `json:"recorded_at,omitempty"`
}

// encodeEvent maps an event onto EventStoreDB's: id, type, JSON data,
// and the port's metadata as JSON in the event's metadata; recordedAt is
// nil unless the store has a clock of its own.
func encodeEvent(ev *eventstore.Event, recordedAt *time.Time) (esdbclient.EventData, error) {
	m := ev.Metadata
	meta, err := json.Marshal(wireMetadata{
		SchemaVersion: ev.SchemaVersion, OccurredAt: m.OccurredAt,
		Source: m.Source, SourceEventID: m.SourceEventID,
		CorrelationID: m.CorrelationID, CausationID: m.CausationID,
		Actor: m.Actor, CatalogueVersion: m.CatalogueVersion, Extra: m.Extra,
		ESCorrelationID: m.CorrelationID, ESCausationID: m.CausationID,
		RecordedAt: recordedAt,
	})
	if err != nil {
		return esdbclient.EventData{}, fmt.Errorf("%w: %s: metadata: %v", ErrInvalidEvent, ev.ID, err)
	}
	return esdbclient.EventData{
		EventID:     ev.ID,
		EventType:   ev.Type,
		ContentType: esdbclient.ContentTypeJson,
		Data:        ev.Data,
		Metadata:    meta,
	}, nil
}

// decodeEvent turns an EventStoreDB event into the port's; the position is
// the caller's (see the package documentation).
func decodeEvent(re *esdbclient.RecordedEvent, position eventstore.Position) (eventstore.RecordedEvent, error) {
	var m wireMetadata
	if len(re.UserMetadata) > 0 {
		if err := json.Unmarshal(re.UserMetadata, &m); err != nil {
			return eventstore.RecordedEvent{}, fmt.Errorf("event %s (%s@%d): metadata: %w", re.EventID, re.StreamID, re.EventNumber, err)
		}
	}
	var data json.RawMessage
	if len(re.Data) > 0 {
		data = json.RawMessage(re.Data)
	}
	recordedAt := re.CreatedDate
	if m.RecordedAt != nil {
		recordedAt = *m.RecordedAt
	}
	return eventstore.RecordedEvent{
		Event: eventstore.Event{
			ID:            re.EventID,
			Type:          re.EventType,
			SchemaVersion: m.SchemaVersion,
			Data:          data,
			Metadata: eventstore.Metadata{
				OccurredAt:       m.OccurredAt,
				RecordedAt:       recordedAt,
				Source:           m.Source,
				SourceEventID:    m.SourceEventID,
				CorrelationID:    m.CorrelationID,
				CausationID:      m.CausationID,
				Actor:            m.Actor,
				CatalogueVersion: m.CatalogueVersion,
				Extra:            m.Extra,
			},
		},
		Stream:   re.StreamID,
		Revision: re.EventNumber,
		Position: position,
	}, nil
}

// intent is what a marker stream records before an event is written: the
// event is about to be written to Stream at Revision, by an append whose
// first event goes to First (so the append expects revision First-1, or
// no stream when First is 0).
type intent struct {
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision"`
	First    uint64 `json:"first"`
}

func encodeIntent(in intent) esdbclient.EventData {
	data, _ := json.Marshal(in) // strings and integers: cannot fail
	return esdbclient.EventData{
		EventID:     uuid.New(), // never the same twice: the server must not take it for a retry
		EventType:   markerType,
		ContentType: esdbclient.ContentTypeJson,
		Data:        data,
	}
}

func decodeIntent(re *esdbclient.RecordedEvent) (intent, error) {
	var in intent
	if err := json.Unmarshal(re.Data, &in); err != nil || in.Stream == "" {
		return intent{}, fmt.Errorf("marker %s@%d: not an intent: %s", re.StreamID, re.EventNumber, re.Data)
	}
	return in, nil
}
