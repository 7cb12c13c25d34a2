package derived

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCloseWritesTheFreePages checks that commits leave the free pages out
// of the file and that Close writes them, so that the next Open need not
// walk the file to find them.
func TestCloseWritesTheFreePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.db")
	bucket := []byte("rows")
	db, _, err := Open(path, func(path string) (*bolt.DB, struct{}, error) {
		db, err := OpenFile(path, func(tx *bolt.Tx) error { return CreateBuckets(tx, [][]byte{bucket}) })
		return db, struct{}{}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite rows so that pages are freed.
	for round := range 3 {
		err := db.Update(func(tx *bolt.Tx) error {
			for i := range 2000 {
				key := binary.BigEndian.AppendUint32(nil, uint32(i))
				if err := tx.Bucket(bucket).Put(key, make([]byte, 100+round)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if freelistPage(t, path) != noFreelist {
		t.Fatal("a commit wrote the free pages")
	}
	if err := Close(db, path); err != nil {
		t.Fatal(err)
	}
	if freelistPage(t, path) == noFreelist {
		t.Fatal("Close did not write the free pages: the next Open walks the file")
	}

	// Reopened, it reads them and still works.
	db, err = OpenFile(path, func(tx *bolt.Tx) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().FreePageN; n == 0 {
		t.Errorf("reopened with %d free pages, want those the rewrites freed", n)
	}
}

// noFreelist is bbolt's freelist page id when the free pages are not in
// the file.
const noFreelist = ^uint64(0)

// freelistPage reads the freelist page id of the newer of the file's two
// meta pages (bbolt's layout: a 16-byte page header, then magic, version,
// page size, flags, the root bucket (16 bytes), the freelist page id, the
// high water mark and the transaction id).
func freelistPage(t *testing.T, path string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(b[16+8:]))
	var freelist, txid uint64
	for _, meta := range [][]byte{b[16:], b[pageSize+16:]} {
		if id := binary.LittleEndian.Uint64(meta[48:]); id >= txid {
			freelist, txid = binary.LittleEndian.Uint64(meta[32:]), id
		}
	}
	return freelist
}
