package embedded

import (
	"maps"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

func fullRecord() record {
	return record{
		Revision: 1 << 40,
		Stream:   "person-7b0c",
		Event: eventstore.Event{
			ID:            uuid.New(),
			Type:          "person.born",
			SchemaVersion: -3,
			Data:          []byte(`{"name":"Ана"}`),
			Metadata: eventstore.Metadata{
				OccurredAt:       time.Date(2024, 3, 1, 10, 0, 0, 5, time.FixedZone("", -5*3600)),
				RecordedAt:       time.Date(2024, 3, 2, 0, 0, 0, 7, time.UTC),
				Source:           "civil-registry",
				SourceEventID:    "act-1",
				CorrelationID:    "c",
				CausationID:      "d",
				Actor:            "registrar",
				CatalogueVersion: "2024.1",
				Extra:            map[string]string{"b": "2", "a": ""},
			},
		},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := fullRecord()
	b, err := encodeRecord(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := decodeRecord(b, 42, &eventstore.Filter{}, interner{})
	if err != nil || !ok {
		t.Fatalf("decode: ok=%v err=%v", ok, err)
	}
	wm, gm := r.Event.Metadata, got.Metadata
	if got.Position != 42 || got.Revision != r.Revision || got.Stream != r.Stream || got.ID != r.Event.ID ||
		got.Type != r.Event.Type || got.SchemaVersion != r.Event.SchemaVersion || string(got.Data) != string(r.Event.Data) ||
		!gm.OccurredAt.Equal(wm.OccurredAt) || !gm.RecordedAt.Equal(wm.RecordedAt) || !maps.Equal(gm.Extra, wm.Extra) {
		t.Fatalf("decoded %+v, want %+v", got, r)
	}
	if _, off := gm.OccurredAt.Zone(); off != -5*3600 {
		t.Fatalf("occurred_at offset %d, want %d", off, -5*3600)
	}
	gm.OccurredAt, gm.RecordedAt, gm.Extra = wm.OccurredAt, wm.RecordedAt, wm.Extra
	if gm.Source != wm.Source || gm.SourceEventID != wm.SourceEventID || gm.CorrelationID != wm.CorrelationID ||
		gm.CausationID != wm.CausationID || gm.Actor != wm.Actor || gm.CatalogueVersion != wm.CatalogueVersion {
		t.Fatalf("metadata %+v, want %+v", gm, wm)
	}

	// Same metadata, same bytes: extra is sorted.
	again, _ := encodeRecord(nil, &r)
	if string(again) != string(b) {
		t.Fatal("encoding is not deterministic")
	}
}

func TestRecordFilter(t *testing.T) {
	r := fullRecord()
	b, _ := encodeRecord(nil, &r)
	for _, tc := range []struct {
		f    eventstore.Filter
		want bool
	}{
		{eventstore.Filter{StreamPrefixes: []string{"person-"}}, true},
		{eventstore.Filter{StreamPrefixes: []string{"situation-", "person-7"}}, true},
		{eventstore.Filter{StreamPrefixes: []string{"person-7b0c-"}}, false},
		{eventstore.Filter{TypePrefixes: []string{"person.b"}}, true},
		{eventstore.Filter{StreamPrefixes: []string{"person-"}, TypePrefixes: []string{"person.moved"}}, false},
	} {
		if _, ok, err := decodeRecord(b, 1, &tc.f, nil); err != nil || ok != tc.want {
			t.Errorf("filter %+v: ok=%v err=%v, want %v", tc.f, ok, err, tc.want)
		}
	}
}

// A reader skips metadata fields a newer writer added.
func TestRecordSkipsUnknownMetadata(t *testing.T) {
	m := fullRecord().Event.Metadata
	m.Actor = ""
	meta, err := appendMetadata(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	meta = appendField(meta, 200, []byte("from the future"))
	meta = appendField(meta, tagActor, []byte("registrar"))

	var got eventstore.Metadata
	if err := decodeMetadata(&decoder{b: meta}, &got, nil); err != nil {
		t.Fatal(err)
	}
	if got.Actor != "registrar" || got.Source != m.Source || !maps.Equal(got.Extra, m.Extra) {
		t.Fatalf("metadata with an unknown field: %+v", got)
	}
}

// A damaged record is an error, never a panic.
func TestRecordTruncated(t *testing.T) {
	r := fullRecord()
	b, _ := encodeRecord(nil, &r)
	for n := range len(b) {
		if _, _, err := decodeRecord(b[:n], 1, &eventstore.Filter{}, nil); err == nil {
			// Cutting inside the data's length prefix or the data itself
			// must be noticed too.
			t.Fatalf("record cut at %d of %d bytes decoded without error", n, len(b))
		}
	}
}
