package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"

	"lifesituations/domain/eventstore"
)

// Keys of the Pebble database. A one-byte prefix names each family, so the
// global log is one contiguous, append-only key range; integers are
// big-endian so that keys sort by number.
const (
	// prefixLog: position -> record.
	prefixLog byte = 'l'
	// prefixStream: len(stream) | stream | revision -> position.
	prefixStream byte = 's'
	// prefixHead: stream -> last revision | its position.
	prefixHead byte = 'h'
	// prefixID: event id (16 bytes) -> position | revision.
	prefixID byte = 'i'
	// prefixMeta: store-wide facts such as the format version.
	prefixMeta byte = 'm'
)

var (
	keyFormat = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	// keyChainStart: the last position whose record carries no chain hash
	// (0 unless the store was upgraded from format 2) | the chain value
	// after it (see chain.go).
	keyChainStart = []byte{prefixMeta, 'c', 'h', 'a', 'i', 'n', '0'}
	// keyChainHead: the last position written | the chain value after it,
	// written in the batch of every commit.
	keyChainHead = []byte{prefixMeta, 'c', 'h', 'a', 'i', 'n'}
)

// storeFormat is the version of the key layout, checked at open. Format 1
// was the bbolt file events.db; format 2 the Pebble layout without the hash
// chain, which Open upgrades to format 3 in place (see chain.go).
const (
	storeFormat        byte = 3
	storeFormatNoChain byte = 2
)

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

// u64Pair decodes the two integers of a head or id value.
func u64Pair(b []byte) (uint64, uint64, error) {
	if len(b) != 16 {
		return 0, 0, fmt.Errorf("%w: %d-byte pair", errCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]), nil
}

func appendLogKey(dst []byte, pos eventstore.Position) []byte {
	return appendU64(append(dst, prefixLog), pos)
}

// appendStreamPrefix appends the stream's part of its index keys.
func appendStreamPrefix(dst []byte, stream string) []byte {
	dst = append(dst, prefixStream, byte(len(stream)))
	return append(dst, stream...)
}

func appendStreamKey(dst []byte, stream string, rev eventstore.Revision) []byte {
	return appendU64(appendStreamPrefix(dst, stream), rev)
}

func appendHeadKey(dst []byte, stream string) []byte {
	return append(append(dst, prefixHead), stream...)
}

func appendIDKey(dst []byte, id []byte) []byte {
	return append(append(dst, prefixID), id...)
}
