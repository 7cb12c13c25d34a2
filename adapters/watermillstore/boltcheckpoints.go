package watermillstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

var bucketCheckpoints = []byte("checkpoints")

// BoltCheckpoints keeps checkpoints in a bbolt file; a Save is durable when
// it returns.
type BoltCheckpoints struct {
	db *bolt.DB
}

// OpenBoltCheckpoints opens (creating if needed) the checkpoint file at
// path. A file held open by another process is waited for up to 5 s.
func OpenBoltCheckpoints(path string) (*BoltCheckpoints, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open checkpoints %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketCheckpoints)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open checkpoints %s: %w", path, err)
	}
	return &BoltCheckpoints{db: db}, nil
}

// Load returns the checkpoint saved under key, 0 when none.
func (c *BoltCheckpoints) Load(ctx context.Context, key string) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var pos eventstore.Position
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCheckpoints).Get([]byte(key))
		switch {
		case v == nil:
			return nil
		case len(v) != 8:
			return fmt.Errorf("corrupt checkpoint: %d bytes", len(v))
		}
		pos = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("load checkpoint %s: %w", key, err)
	}
	return pos, nil
}

// Save sets the checkpoint of key and syncs the file.
func (c *BoltCheckpoints) Save(ctx context.Context, key string, pos eventstore.Position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCheckpoints).Put([]byte(key), binary.BigEndian.AppendUint64(nil, pos))
	})
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", key, err)
	}
	return nil
}

// Close closes the file. Close the subscribers using it first: a
// subscription saves its checkpoint when it stops.
func (c *BoltCheckpoints) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("close checkpoints: %w", err)
	}
	return nil
}
