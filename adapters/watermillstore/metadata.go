package watermillstore

// Metadata keys of a delivered message. The publisher reads the same keys
// back into the event (see Publisher.Publish); every other key travels in
// eventstore.Metadata.Extra.
const (
	// MetadataEventID is the stored event's id.
	MetadataEventID = "event_id"
	// MetadataEventType is the event's type; a published message without it
	// is stored with DefaultEventType.
	MetadataEventType = "event_type"
	// MetadataSchemaVersion is the event's schema version (decimal), left
	// out when 0.
	MetadataSchemaVersion = "schema_version"
	// MetadataStream, MetadataRevision and MetadataPosition tell where the
	// event is stored (decimal revision and global position).
	MetadataStream   = "stream"
	MetadataRevision = "revision"
	MetadataPosition = "position"
	// MetadataOccurredAt is business time, RFC 3339 with nanoseconds; left
	// out when unknown. MetadataRecordedAt is when the store stored it.
	MetadataOccurredAt = "occurred_at"
	MetadataRecordedAt = "recorded_at"

	MetadataSource           = "source"
	MetadataSourceEventID    = "source_event_id"
	MetadataCorrelationID    = "correlation_id"
	MetadataCausationID      = "causation_id"
	MetadataActor            = "actor"
	MetadataCatalogueVersion = "catalogue_version"

	// MetadataExpectedRevision, on the first message of a Publish call, sets
	// the append's expectation: "any", "no_stream", "stream_exists" or a
	// decimal revision. It is not stored.
	MetadataExpectedRevision = "expected_revision"

	// MetadataMessageUUID (in Extra) keeps the published message's UUID,
	// which the event id is derived from.
	MetadataMessageUUID = "message_uuid"
	// MetadataPayloadEncoding (in Extra) is "base64" when the payload was
	// not JSON: the store holds JSON only, so such a payload is stored as a
	// JSON string of its base64 and decoded again on delivery.
	MetadataPayloadEncoding = "payload_encoding"

	// OriginPrefix renames the keys the store assigns (event_id, stream,
	// revision, position, recorded_at) when a delivered message is published
	// again, for example by a poison queue: the new event records where it
	// came from under origin_stream, origin_position, ... instead of
	// claiming a place it does not have.
	OriginPrefix = "origin_"
)

// DefaultEventType is the type of an event published without event_type.
const DefaultEventType = "message"

const encodingBase64 = "base64"

// storeAssigned are the keys whose value the store decides.
var storeAssigned = map[string]bool{
	MetadataEventID:    true,
	MetadataStream:     true,
	MetadataRevision:   true,
	MetadataPosition:   true,
	MetadataRecordedAt: true,
}
