package cabinet

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"lifesituations/projections/derived"
)

// Buckets of cabinet.db.
var (
	bucketMeta = []byte("meta")
	// logs: situation id -> the situation's events, trimmed of what the
	// citizen never sees: the one value kept per situation. Its drafts,
	// grants and row are rendered from it when read, as they stand.
	bucketLogs = []byte("logs")
	// people: everything listed per person, under person 0x00 kind:
	// their situations (kind time situation id -> present), drafts and
	// grants (kind time id -> situation id; keys sort by time then id,
	// which is the order of the lists) and notifications (kind time
	// position seq -> Notification). One bucket keeps a person's entries
	// side by side: a situation's step dirties a page or two per person it
	// concerns.
	bucketPeople = []byte("people")

	// fileLayout: a file of another version (or of none) is emptied and
	// folded again. The first layout kept a bucket per list; the second
	// kept each situation's row and its drafts and grants in buckets of
	// their own, keyed by id: three more random pages per situation, each
	// a copy of what its log holds.
	fileLayout = derived.Layout{
		Meta: bucketMeta, Key: []byte("layout"), Version: "3",
		Buckets: [][]byte{bucketMeta, bucketLogs, bucketPeople},
		Former: [][]byte{
			[]byte("person_drafts"), []byte("person_grants"), []byte("person_situations"), []byte("notifications"),
			[]byte("situations"), []byte("drafts"), []byte("grants"),
		},
	}
)

// Kinds of the people bucket's entries.
const (
	kindDraft        byte = 'd'
	kindGrant        byte = 'g'
	kindNotification byte = 'n'
	kindSituation    byte = 's'
)

// idLen is the length of the id ending every index key.
const idLen = 16

// personPrefix starts each of person's entries of a kind.
func personPrefix(person string, kind byte) []byte {
	return append([]byte(person), 0, kind)
}

// indexKey is person 0x00 kind time id: a person's rows of a kind in time
// order.
func indexKey(person string, kind byte, at time.Time, id uuid.UUID) []byte {
	return timeIDKey(personPrefix(person, kind), at, id)
}

// timeIDKey appends time then id to prefix: the order of the lists.
func timeIDKey(prefix []byte, at time.Time, id uuid.UUID) []byte {
	return append(appendTime(prefix, at), id[:]...)
}

// notificationKey is person 0x00 kind time position seq: a person's
// notifications in time order, then log order.
func notificationKey(person string, at time.Time, pos uint64, seq int) []byte {
	k := appendTime(personPrefix(person, kindNotification), at)
	k = binary.BigEndian.AppendUint64(k, pos)
	return binary.BigEndian.AppendUint16(k, uint16(seq))
}

// appendTime appends t as 8 big-endian bytes of nanoseconds since 1970, so
// that byte order is time order (earlier instants clamp to 0).
func appendTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(max(t.UnixNano(), 0)))
}

// idOf is the id an index key ends with.
func idOf(key []byte) uuid.UUID {
	var id uuid.UUID
	copy(id[:], key[len(key)-idLen:])
	return id
}
