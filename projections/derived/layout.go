package derived

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Layout is the shape of a read model's file: its buckets, and the
// version of their keys and rows, recorded under Key in the Meta bucket
// (one of Buckets). A file of another version, or of none, is emptied
// and folded again from the log, which it is derived from, rather than
// migrated.
type Layout struct {
	Meta    []byte
	Key     []byte
	Version string
	Buckets [][]byte
	// Former are the buckets of earlier versions, dropped with the rest.
	Former [][]byte
}

// Prepare leaves the file in this layout: as it is when it records
// Version (creating a bucket it may lack), else emptied (Empty).
func (l Layout) Prepare(tx *bolt.Tx) error {
	if meta := tx.Bucket(l.Meta); meta == nil || string(meta.Get(l.Key)) != l.Version {
		return l.Empty(tx)
	}
	return CreateBuckets(tx, l.Buckets)
}

// Empty leaves the file with the layout's buckets, empty, and its
// version recorded.
func (l Layout) Empty(tx *bolt.Tx) error {
	if err := DropBuckets(tx, slices.Concat(l.Buckets, l.Former)); err != nil {
		return err
	}
	if err := CreateBuckets(tx, l.Buckets); err != nil {
		return err
	}
	if err := tx.Bucket(l.Meta).Put(l.Key, []byte(l.Version)); err != nil {
		return fmt.Errorf("record the layout's version: %w", err)
	}
	return nil
}
