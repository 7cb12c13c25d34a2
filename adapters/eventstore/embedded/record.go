package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"lifesituations/domain/eventstore"
)

// Record formats. The version byte leads every record. Format 1 (stores of
// format 2, before the hash chain) is still read: an upgraded store keeps
// its old records as they were.
const (
	recordV1 byte = 1
	// recordV2 carries the record's chain hash right after the version.
	recordV2 byte = 2
)

// record is one event as stored in the log. The global position is the
// record's key, not part of the record.
//
// Layout of format 2, every length an unsigned varint:
//
//	version | chain hash (32 bytes) | revision | len stream |
//	recorded_at (len + time binary) | body
//	body = id (16 bytes) | len type | schema version (varint) |
//	       len metadata | metadata fields | len data | data
//
// Format 1 is the same without the chain hash. The chain hash is
// SHA-256(previous record's chain hash | position | header without the
// chain hash | SHA-256(body)): see chain.go.
//
// The header carries what the store decides at commit (revision, stream,
// recorded_at); the body is what the appender supplied, so it can be encoded
// in the appender's goroutine and the single writer only copies it.
//
// Metadata is a list of (tag, len, value) fields with zero values left out.
// A reader skips tags it does not know, so a new Metadata field needs a new
// tag, not a new format. Binary rather than JSON because reading the log is
// the hot path of replays and catch-up (JSON metadata costs several times
// the rest of the decoding).
type record struct {
	Revision eventstore.Revision
	Stream   string
	Event    eventstore.Event
}

const (
	tagOccurredAt byte = iota + 1
	tagSource
	tagSourceEventID
	tagCorrelationID
	tagCausationID
	tagActor
	tagCatalogueVersion
	tagExtra
)

var errCorrupt = errors.New("corrupt record")

// appendBody encodes what the appender supplied, with metadata except
// RecordedAt, which the store sets.
func appendBody(dst []byte, ev *eventstore.Event) ([]byte, error) {
	dst = append(dst, ev.ID[:]...)
	dst = appendString(dst, ev.Type)
	dst = binary.AppendVarint(dst, int64(ev.SchemaVersion))

	meta, err := appendMetadata(nil, &ev.Metadata)
	if err != nil {
		return nil, err
	}
	dst = binary.AppendUvarint(dst, uint64(len(meta)))
	dst = append(dst, meta...)

	dst = binary.AppendUvarint(dst, uint64(len(ev.Data)))
	return append(dst, ev.Data...), nil
}

func appendMetadata(dst []byte, m *eventstore.Metadata) ([]byte, error) {
	if !m.OccurredAt.IsZero() {
		t, err := m.OccurredAt.AppendBinary(nil)
		if err != nil {
			return nil, fmt.Errorf("encode occurred_at: %w", err)
		}
		dst = appendField(dst, tagOccurredAt, t)
	}
	for _, f := range [...]struct {
		tag byte
		v   string
	}{
		{tagSource, m.Source},
		{tagSourceEventID, m.SourceEventID},
		{tagCorrelationID, m.CorrelationID},
		{tagCausationID, m.CausationID},
		{tagActor, m.Actor},
		{tagCatalogueVersion, m.CatalogueVersion},
	} {
		if f.v != "" {
			dst = appendField(dst, f.tag, []byte(f.v))
		}
	}
	if len(m.Extra) > 0 {
		dst = appendField(dst, tagExtra, appendExtra(nil, m.Extra))
	}
	return dst, nil
}

// appendExtra encodes the free-form metadata as len key, key, len value,
// value, sorted by key so that equal metadata encodes to equal bytes.
func appendExtra(dst []byte, extra map[string]string) []byte {
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		dst = appendString(dst, k)
		dst = appendString(dst, extra[k])
	}
	return dst
}

// appendHeader encodes what the store decides at commit, in format 2 with
// a zero chain hash that the writer fills in (setChainHash); recordedAt is
// the time's binary form, encoded once per commit.
func appendHeader(dst []byte, rev eventstore.Revision, stream string, recordedAt []byte) []byte {
	dst = append(dst, recordV2)
	dst = append(dst, make([]byte, hashSize)...)
	dst = binary.AppendUvarint(dst, rev)
	dst = appendString(dst, stream)
	dst = binary.AppendUvarint(dst, uint64(len(recordedAt)))
	return append(dst, recordedAt...)
}

// encodeRecord encodes a whole record in format 2 with a zero chain hash;
// the writer uses appendHeader and a pre-encoded body instead.
func encodeRecord(dst []byte, r *record) ([]byte, error) {
	t, err := r.Event.Metadata.RecordedAt.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("encode recorded_at: %w", err)
	}
	return appendBody(appendHeader(dst, r.Revision, r.Stream, t), &r.Event)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendField(dst []byte, tag byte, v []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}
