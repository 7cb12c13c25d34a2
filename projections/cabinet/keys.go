package cabinet

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Buckets of cabinet.db.
var (
	bucketMeta = []byte("meta")
	// logs: situation id -> the situation's events, trimmed of what the
	// citizen never sees, to fold it again when a new event comes.
	bucketLogs = []byte("logs")
	// situations, drafts, grants: id -> row (JSON).
	bucketSituations = []byte("situations")
	bucketDrafts     = []byte("drafts")
	bucketGrants     = []byte("grants")
	// Per-person indexes: person 0x00 time id -> present. Keys sort by time
	// then id, which is the order of the lists.
	bucketPersonDrafts     = []byte("person_drafts")
	bucketPersonGrants     = []byte("person_grants")
	bucketPersonSituations = []byte("person_situations")
	// notifications: person 0x00 time position seq -> Notification.
	bucketNotifications = []byte("notifications")

	allBuckets = [][]byte{
		bucketMeta, bucketLogs, bucketSituations, bucketDrafts, bucketGrants,
		bucketPersonDrafts, bucketPersonGrants, bucketPersonSituations, bucketNotifications,
	}
)

// idLen is the length of the id ending every index key.
const idLen = 16

func personPrefix(person string) []byte {
	return append([]byte(person), 0)
}

// indexKey is person 0x00 time id: a person's rows in time order.
func indexKey(person string, at time.Time, id uuid.UUID) []byte {
	k := appendTime(personPrefix(person), at)
	return append(k, id[:]...)
}

// notificationKey is person 0x00 time position seq: a person's
// notifications in time order, then log order.
func notificationKey(person string, at time.Time, pos uint64, seq int) []byte {
	k := appendTime(personPrefix(person), at)
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
