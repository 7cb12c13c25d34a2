package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// The hash chain makes the log tamper-evident. Each record of format 2
// carries
//
//	H(p) = SHA-256( H(p-1) | uint64 big-endian p | header(p) | SHA-256(body(p)) )
//
// where p is the record's position, header(p) the record's header exactly
// as stored with its 32-byte hash field left out (version byte, revision,
// stream, recorded_at) and body(p) the rest of the record exactly as stored
// (id, type, schema version, metadata, data): see record.go. The record
// encoding is deterministic (minimal varints, metadata fields in tag order
// with zero values left out, extra metadata sorted by key), so it is the
// chain's canonical encoding: one event has one encoding, and any change to
// a stored byte, or to the position it is stored at, changes the hash. The
// body is hashed on its own so that its digest, the bulk of the work, is
// computed by the appender (prepare) in its own goroutine: the single
// writer hashes only some hundred bytes per event.
//
// The writer computes H in the batch that writes the record, in position
// order, which the single writer already follows; each commit also writes
// keyChainHead (the last position and H of it) in the same batch, so that
// removing the last records is seen too.
//
// keyChainStart holds the chain's start: the last position whose record
// carries no hash, and H of it. A new store starts from position 0 and 32
// zero bytes, so every record carries a hash. A store of format 2 (written
// before the chain) is upgraded at open: its records are left as they are
// (format 1, no hash field) and sealed: the same formula is run over them
// and its value after the last one is recorded as the chain's start.
// VerifyChain recomputes the seal, so a later change to those records is
// detected, but it can only be located by the indexes, those records
// holding no hash of their own.

// hashSize is the size of a chain hash.
const hashSize = sha256.Size

type chainHash [hashSize]byte

// bodySum is the digest of a record's body that the chain hashes.
func bodySum(body []byte) chainHash { return sha256.Sum256(body) }

// chainer computes chain hashes with one reused SHA-256 state.
type chainer struct {
	h   hash.Hash
	pos [8]byte
	// sum receives the digest and body the body's digest in link: local
	// arrays passed to the hash's methods would be allocated on the heap
	// at each call.
	sum  []byte
	body chainHash
}

func newChainer() *chainer { return &chainer{h: sha256.New(), sum: make([]byte, 0, hashSize)} }

// link returns H(pos) of the record rec stored at pos after prev; ok is
// false for a record whose header cannot be read.
func (c *chainer) link(prev *chainHash, pos eventstore.Position, rec []byte) (h chainHash, ok bool) {
	r, ok := splitRecord(rec)
	if !ok {
		return h, false
	}
	c.body = bodySum(r.body)
	return c.linkSum(prev, pos, r.head, r.head2, &c.body), true
}

// linkSum returns H(pos) from the parts of the record: its header without
// the hash field, in two pieces, and its body's digest.
func (c *chainer) linkSum(prev *chainHash, pos eventstore.Position, head, head2 []byte, body *chainHash) (h chainHash) {
	c.h.Reset()
	c.h.Write(prev[:])
	binary.BigEndian.PutUint64(c.pos[:], pos)
	c.h.Write(c.pos[:])
	c.h.Write(head)
	c.h.Write(head2)
	c.h.Write(body[:])
	copy(h[:], c.h.Sum(c.sum[:0]))
	return h
}

// recordParts are the parts of a stored record the chain hashes: the
// header without the hash field (head then head2, around where the hash
// is), the body, and the stored hash, nil for a record of format 1.
type recordParts struct {
	head, head2, body, stored []byte
}

// splitRecord splits a record; ok is false if its header cannot be read.
func splitRecord(rec []byte) (recordParts, bool) {
	if len(rec) == 0 {
		return recordParts{}, false
	}
	var r recordParts
	off := 1
	switch rec[0] {
	case recordV1:
	case recordV2:
		if len(rec) < 1+hashSize {
			return recordParts{}, false
		}
		r.stored = rec[1 : 1+hashSize]
		off += hashSize
	default:
		return recordParts{}, false
	}
	d := decoder{b: rec[off:]}
	d.uvarint() // revision
	d.bytes()   // stream
	d.bytes()   // recorded_at
	if d.err != nil {
		return recordParts{}, false
	}
	end := len(rec) - len(d.b)
	r.head, r.head2, r.body = rec[:1], rec[off:end], rec[end:]
	if r.stored == nil {
		r.head, r.head2 = rec[:end], nil
	}
	return r, true
}

// storedHash returns the hash a record carries; ok is false for a record
// of format 1 or one that cannot be read.
func storedHash(rec []byte) ([]byte, bool) {
	r, ok := splitRecord(rec)
	return r.stored, ok && r.stored != nil
}

// chainPoint is a position and the chain value after it: the value of
// keyChainStart (the position before the first hashed record) and of
// keyChainHead.
type chainPoint struct {
	pos  eventstore.Position
	hash chainHash
}

func (c chainPoint) encode() []byte {
	return append(appendU64(make([]byte, 0, 8+hashSize), c.pos), c.hash[:]...)
}

func decodeChainPoint(b []byte) (chainPoint, error) {
	if len(b) != 8+hashSize {
		return chainPoint{}, fmt.Errorf("%w: %d-byte chain point", errCorrupt, len(b))
	}
	c := chainPoint{pos: binary.BigEndian.Uint64(b)}
	copy(c.hash[:], b[8:])
	return c, nil
}

// readChainPoint reads a chain point key from the database or a snapshot;
// ok is false when it is absent.
func readChainPoint(r pebble.Reader, key []byte) (c chainPoint, ok bool, err error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return chainPoint{}, false, nil
	}
	if err != nil {
		return chainPoint{}, false, err
	}
	defer closer.Close()
	c, err = decodeChainPoint(v)
	return c, err == nil, err
}

// createChain starts the chain of a new store: format, start and head in
// one synced batch.
func (e *engine) createChain() error {
	b := e.db.NewBatch()
	defer b.Close()
	origin := chainPoint{} // position 0, 32 zero bytes
	return errors.Join(
		b.Set(keyFormat, []byte{storeFormat}, nil),
		b.Set(keyChainStart, origin.encode(), nil),
		b.Set(keyChainHead, origin.encode(), nil),
		b.Commit(pebble.Sync),
	)
}

// sealUnchained upgrades a store of format 2: it runs the chain over the
// records as they are and records the value after the last one as the
// chain's start, in one synced batch with the new format.
func (e *engine) sealUnchained() (err error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	c := newChainer()
	var seal chainPoint
	for valid := it.First(); valid; valid = it.Next() {
		pos, err := u64(it.Key()[1:])
		if err != nil {
			return fmt.Errorf("log key %x: %w", it.Key(), err)
		}
		rec, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		h, ok := c.link(&seal.hash, pos, rec)
		if !ok || rec[0] != recordV1 {
			return fmt.Errorf("position %d: %w: not a record of format 1", pos, errCorrupt)
		}
		seal = chainPoint{pos: pos, hash: h}
	}
	if err := it.Error(); err != nil {
		return err
	}
	b := e.db.NewBatch()
	defer b.Close()
	return errors.Join(
		b.Set(keyFormat, []byte{storeFormat}, nil),
		b.Set(keyChainStart, seal.encode(), nil),
		b.Set(keyChainHead, seal.encode(), nil),
		b.Commit(pebble.Sync),
	)
}

// chainTail returns where appends continue: the last position and the
// chain value after it. It is the recorded head unless records were put
// after it (which VerifyChain reports): then the last record's hash. A
// record missing at the end leaves its position used, so that the gap
// stays visible.
func (e *engine) chainTail() (chainPoint, error) {
	last, err := e.lastPosition()
	if err != nil {
		return chainPoint{}, err
	}
	head, ok, err := readChainPoint(e.db, keyChainHead)
	if err != nil {
		// A damaged head must not keep the store from opening: VerifyChain
		// reports it.
		ok = false
	}
	if ok && head.pos >= last {
		return head, nil
	}
	tail := chainPoint{pos: last}
	if ok {
		tail.hash = head.hash
	}
	v, found, err := e.get(nil, appendLogKey(nil, last))
	if err != nil {
		return chainPoint{}, err
	}
	if stored, ok := storedHash(v); found && ok {
		copy(tail.hash[:], stored)
	}
	return tail, nil
}

// sameHash compares a stored hash with a computed one.
func sameHash(stored []byte, h *chainHash) bool { return bytes.Equal(stored, h[:]) }
