package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"

	"lifesituations/domain/eventstore"
)

// Buckets of events.db.
var (
	// bucketLog: big-endian position -> record.
	bucketLog = []byte("log")
	// bucketStreams: stream key + big-endian revision -> big-endian position.
	bucketStreams = []byte("streams")
	// bucketHeads: stream name -> big-endian last revision.
	bucketHeads = []byte("heads")
	// bucketIDs: event id (16 bytes) -> big-endian position.
	bucketIDs = []byte("ids")
	// bucketMeta: store-wide facts such as the format version.
	bucketMeta = []byte("meta")

	allBuckets = [][]byte{bucketLog, bucketStreams, bucketHeads, bucketIDs, bucketMeta}

	keyFormat = []byte("format")
)

// storeFormat is the version of the bucket layout, checked at open.
const storeFormat byte = 1

// MaxStreamName is the longest stream name in bytes: the name is prefixed by
// its length in one byte in the stream index, so that the index of stream
// "a" never interleaves with that of stream "ab".
const MaxStreamName = 255

// ErrInvalidStream is returned for an empty or too long stream name.
var ErrInvalidStream = errors.New("invalid stream name")

// ErrInvalidEvent is returned for an event without id or type, or whose data
// is not JSON.
var ErrInvalidEvent = errors.New("invalid event")

func checkStream(stream string) error {
	switch {
	case stream == "":
		return fmt.Errorf("%w: empty", ErrInvalidStream)
	case len(stream) > MaxStreamName:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidStream, len(stream), MaxStreamName)
	}
	return nil
}

func appendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

func u64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: %d-byte integer", errCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// appendStreamPrefix appends the stream's part of its index keys.
func appendStreamPrefix(dst []byte, stream string) []byte {
	dst = append(dst, byte(len(stream)))
	return append(dst, stream...)
}

func streamKey(stream string, rev eventstore.Revision) []byte {
	k := make([]byte, 0, 1+len(stream)+8)
	return appendU64(appendStreamPrefix(k, stream), rev)
}
