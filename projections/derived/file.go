package derived

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// OpenFile opens (creating if needed) the bbolt file of a read model at
// path, then runs prepare in one write transaction (to create buckets and
// read the checkpoint, say). A file bbolt cannot make sense of (it panics
// on torn pages) fails to open; it is the open that Open takes.
func OpenFile(path string, prepare func(tx *bolt.Tx) error) (db *bolt.DB, err error) {
	defer func() {
		// bbolt panics on pages it cannot make sense of: a torn file.
		if r := recover(); r != nil {
			err = fmt.Errorf("read file: %v", r)
		}
		if err != nil && db != nil {
			_ = db.Close()
			db = nil
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      5 * time.Second,
		FreelistType: bolt.FreelistMapType,
		// The free pages are found again at each open (a walk of the
		// file) rather than written at each commit: writing them sorted
		// was a third of a commit's CPU once the files had grown, and a
		// read model commits every few milliseconds under load.
		NoFreelistSync: true,
		// Nor is the file synced when it grows (every 16 MiB), which
		// stalled a commit for tens of milliseconds: Open discards a file
		// that a power loss may have torn anyway.
		NoGrowSync: true,
		// Room to grow without remapping, which would wait for readers.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, err
	}
	return db, db.Update(prepare)
}

// CreateBuckets creates those of the named buckets that do not exist.
func CreateBuckets(tx *bolt.Tx, names [][]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// DropBuckets deletes those of the named buckets that exist.
func DropBuckets(tx *bolt.Tx, names [][]byte) error {
	for _, name := range names {
		if tx.Bucket(name) == nil {
			continue
		}
		if err := tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("drop bucket %s: %w", name, err)
		}
	}
	return nil
}

// keyCheckpoint names a read model's checkpoint in its meta bucket.
var keyCheckpoint = []byte("checkpoint")

// Checkpoint is the log position the file holds, from its meta bucket
// (0 when none is written yet).
func Checkpoint(tx *bolt.Tx, meta []byte) (eventstore.Position, error) {
	v := tx.Bucket(meta).Get(keyCheckpoint)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("checkpoint is %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// SetCheckpoint records in the meta bucket, in the transaction that
// writes the rows, the log position they reach.
func SetCheckpoint(tx *bolt.Tx, meta []byte, pos eventstore.Position) error {
	return tx.Bucket(meta).Put(keyCheckpoint, binary.BigEndian.AppendUint64(nil, pos))
}
