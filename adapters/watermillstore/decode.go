package watermillstore

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/domain/eventstore"
)

// toMessage maps a stored event onto the message to deliver. The message has
// no context yet: each delivery sets its own.
func toMessage(ev eventstore.RecordedEvent) *message.Message {
	md := make(message.Metadata, len(ev.Metadata.Extra)+12)
	for k, v := range ev.Metadata.Extra {
		md[k] = v
	}
	eventID := ev.ID.String()
	id := eventID
	if u := md[MetadataMessageUUID]; u != "" {
		id = u
	}
	delete(md, MetadataMessageUUID)

	payload := []byte(ev.Data)
	if md[MetadataPayloadEncoding] == encodingBase64 {
		// Undecodable data is delivered as stored, payload_encoding kept,
		// for the handler (or its poison queue) to judge: failing here
		// would stop the subscription at this event for good.
		if p, err := decodeBase64(ev.Data); err == nil {
			payload = p
			delete(md, MetadataPayloadEncoding)
		}
	}

	// The event's own fields win over Extra keys of the same name.
	md[MetadataEventID] = eventID
	md[MetadataEventType] = ev.Type
	md[MetadataStream] = ev.Stream
	md[MetadataRevision] = strconv.FormatUint(ev.Revision, 10)
	md[MetadataPosition] = strconv.FormatUint(ev.Position, 10)
	if ev.SchemaVersion != 0 {
		md[MetadataSchemaVersion] = strconv.Itoa(ev.SchemaVersion)
	}
	m := &ev.Metadata
	setTime(md, MetadataOccurredAt, m.OccurredAt)
	setTime(md, MetadataRecordedAt, m.RecordedAt)
	setString(md, MetadataSource, m.Source)
	setString(md, MetadataSourceEventID, m.SourceEventID)
	setString(md, MetadataCorrelationID, m.CorrelationID)
	setString(md, MetadataCausationID, m.CausationID)
	setString(md, MetadataActor, m.Actor)
	setString(md, MetadataCatalogueVersion, m.CatalogueVersion)

	msg := message.NewMessage(id, payload)
	msg.Metadata = md
	return msg
}

func setString(md message.Metadata, key, v string) {
	if v != "" {
		md[key] = v
	}
}

func setTime(md message.Metadata, key string, t time.Time) {
	if !t.IsZero() {
		md[key] = t.Format(time.RFC3339Nano)
	}
}

func decodeBase64(data json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}
