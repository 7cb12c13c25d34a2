package embedded

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// decoder reads a record without allocating; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) fixed(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	return d.fixed(int(n))
}

func (d *decoder) time() time.Time {
	b := d.bytes()
	var t time.Time
	if d.err == nil {
		if err := t.UnmarshalBinary(b); err != nil {
			d.fail()
		}
	}
	return t
}

// header is the part of a record needed to filter it.
type header struct {
	revision eventstore.Revision
	stream   []byte
	rest     decoder
}

func decodeHeader(b []byte) (header, error) {
	d := decoder{b: b}
	v := d.fixed(1)
	if d.err != nil {
		return header{}, d.err
	}
	switch v[0] {
	case recordV1:
	case recordV2:
		d.fixed(hashSize)
	default:
		return header{}, fmt.Errorf("%w: unknown format %d", errCorrupt, v[0])
	}
	h := header{revision: d.uvarint(), stream: d.bytes()}
	h.rest = d
	return h, d.err
}

// decodeRecord decodes the record stored at pos when it passes the filter.
// Strings are interned through in, which may be nil.
func decodeRecord(b []byte, pos eventstore.Position, f *eventstore.Filter, in interner) (eventstore.RecordedEvent, bool, error) {
	return decodeRecordData(b, pos, f, in, false)
}

// decodeRecordData is decodeRecord with the event's data lent (the bytes of
// b) rather than copied when lend, and its metadata then left out but for
// RecordedAt (see Scan).
func decodeRecordData(b []byte, pos eventstore.Position, f *eventstore.Filter, in interner, lend bool) (eventstore.RecordedEvent, bool, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return eventstore.RecordedEvent{}, false, fmt.Errorf("position %d: %w", pos, err)
	}
	d := h.rest
	recordedAt := d.time()
	id := d.fixed(16)
	typ := d.bytes()
	if d.err != nil {
		return eventstore.RecordedEvent{}, false, fmt.Errorf("position %d: %w", pos, d.err)
	}
	if !matchBytes(f.StreamPrefixes, h.stream) || !matchBytes(f.TypePrefixes, typ) {
		return eventstore.RecordedEvent{}, false, nil
	}

	ev := eventstore.RecordedEvent{
		Stream:   in.get(h.stream),
		Revision: h.revision,
		Position: pos,
	}
	ev.ID = uuid.UUID(id)
	ev.Type = in.get(typ)
	ev.SchemaVersion = int(d.varint())
	md := decoder{b: d.bytes()}
	if data := d.bytes(); len(data) > 0 {
		if !lend {
			data = append([]byte(nil), data...)
		}
		ev.Data = data
	}
	if d.err != nil {
		return eventstore.RecordedEvent{}, false, fmt.Errorf("position %d: %w", pos, d.err)
	}
	ev.Metadata.RecordedAt = recordedAt
	if lend {
		return ev, true, nil
	}
	if err := decodeMetadata(&md, &ev.Metadata, in); err != nil {
		return eventstore.RecordedEvent{}, false, fmt.Errorf("position %d: metadata: %w", pos, err)
	}
	return ev, true, nil
}

func decodeMetadata(d *decoder, m *eventstore.Metadata, in interner) error {
	for len(d.b) > 0 && d.err == nil {
		tag := d.fixed(1)[0]
		v := d.bytes()
		if d.err != nil {
			break
		}
		switch tag {
		case tagOccurredAt:
			if err := m.OccurredAt.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("occurred_at: %w", err)
			}
		case tagSource:
			m.Source = in.get(v)
		case tagSourceEventID:
			m.SourceEventID = string(v)
		case tagCorrelationID:
			m.CorrelationID = string(v)
		case tagCausationID:
			m.CausationID = string(v)
		case tagActor:
			m.Actor = in.get(v)
		case tagCatalogueVersion:
			m.CatalogueVersion = in.get(v)
		case tagExtra:
			extra, err := decodeExtra(v, in)
			if err != nil {
				return fmt.Errorf("extra: %w", err)
			}
			m.Extra = extra
		}
		// Unknown tags come from a newer writer: skipped.
	}
	return d.err
}

func decodeExtra(b []byte, in interner) (map[string]string, error) {
	d := decoder{b: b}
	extra := make(map[string]string)
	for len(d.b) > 0 && d.err == nil {
		k, v := d.bytes(), d.bytes()
		if d.err == nil {
			extra[in.get(k)] = string(v)
		}
	}
	return extra, d.err
}

// decodeRevision reads only the revision of a record.
func decodeRevision(b []byte) (eventstore.Revision, error) {
	h, err := decodeHeader(b)
	return h.revision, err
}

func matchBytes(prefixes []string, b []byte) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return true
		}
	}
	return false
}

// interner shares the strings that repeat across a read (stream names of
// busy streams, types, sources) instead of allocating each again.
type interner map[string]string

const maxInterned = 4096

func (in interner) get(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in) < maxInterned {
		in[s] = s
	}
	return s
}
