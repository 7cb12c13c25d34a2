package watermillstore

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
)

// Namespace is the UUIDv5 namespace of event ids derived from messages
// (UUIDv5 of "lifesituations:watermillstore:event-id" in the URL namespace).
var Namespace = uuid.MustParse("2f24d3fb-290c-5bba-8d3d-707b3d2d98df")

// EventID is the id of the event that publishing a message with UUID
// messageUUID to topic stores: UUIDv5 under Namespace of the topic's length
// in bytes (decimal), ":", the topic and the message UUID. The length makes
// the name unambiguous whatever the topic contains.
func EventID(topic, messageUUID string) uuid.UUID {
	name := strconv.Itoa(len(topic)) + ":" + topic + messageUUID
	return uuid.NewSHA1(Namespace, []byte(name))
}

var errNoUUID = errors.New("message has no UUID")

// toEvent maps a message published to topic onto the event to append.
func toEvent(topic string, msg *message.Message) (eventstore.Event, error) {
	if msg.UUID == "" {
		return eventstore.Event{}, errNoUUID
	}
	ev := eventstore.Event{
		ID:   EventID(topic, msg.UUID),
		Type: DefaultEventType,
		Metadata: eventstore.Metadata{
			Extra: map[string]string{MetadataMessageUUID: msg.UUID},
		},
	}
	// A delivered event published back to its own stream is that event:
	// keeping its id makes the append a no-op duplicate.
	if msg.Metadata.Get(MetadataStream) == topic {
		if id, err := uuid.Parse(msg.Metadata.Get(MetadataEventID)); err == nil {
			ev.ID = id
		}
	}

	for k, v := range msg.Metadata {
		if err := setField(&ev, k, v); err != nil {
			return eventstore.Event{}, fmt.Errorf("metadata %s=%q: %w", k, v, err)
		}
	}

	switch {
	case len(msg.Payload) == 0:
	case jsonscan.IsJSON(msg.Payload):
		ev.Data = json.RawMessage(msg.Payload)
	default:
		data, err := json.Marshal(base64.StdEncoding.EncodeToString(msg.Payload))
		if err != nil {
			return eventstore.Event{}, fmt.Errorf("encode payload: %w", err)
		}
		ev.Data = data
		ev.Metadata.Extra[MetadataPayloadEncoding] = encodingBase64
	}
	return ev, nil
}

func setField(ev *eventstore.Event, key, value string) error {
	m := &ev.Metadata
	switch key {
	case MetadataEventType:
		if value != "" {
			ev.Type = value
		}
	case MetadataSchemaVersion:
		v, err := strconv.Atoi(value)
		if err != nil {
			return err
		}
		ev.SchemaVersion = v
	case MetadataOccurredAt:
		if value == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return err
		}
		m.OccurredAt = t
	case MetadataSource:
		m.Source = value
	case MetadataSourceEventID:
		m.SourceEventID = value
	case MetadataCorrelationID:
		m.CorrelationID = value
	case MetadataCausationID:
		m.CausationID = value
	case MetadataActor:
		m.Actor = value
	case MetadataCatalogueVersion:
		m.CatalogueVersion = value
	case MetadataExpectedRevision, MetadataMessageUUID, MetadataPayloadEncoding:
		// Instructions to this package, or set by it: never stored as given.
	default:
		if storeAssigned[key] {
			key = OriginPrefix + key
		}
		m.Extra[key] = value
	}
	return nil
}

// expectedRevision reads the expectation of an append from a message.
func expectedRevision(msg *message.Message) (eventstore.ExpectedRevision, error) {
	switch v := msg.Metadata.Get(MetadataExpectedRevision); v {
	case "", "any":
		return eventstore.Any, nil
	case "no_stream":
		return eventstore.NoStream, nil
	case "stream_exists":
		return eventstore.StreamExists, nil
	default:
		rev, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return eventstore.ExpectedRevision{}, fmt.Errorf("metadata %s=%q: want any, no_stream, stream_exists or a revision", MetadataExpectedRevision, v)
		}
		return eventstore.Exact(rev), nil
	}
}
