// Package derived opens the bbolt files of read models, which are derived
// from the event log and so may be written without a sync per commit, and
// tells when such a file cannot be trusted and must be folded again. It
// also runs their folds (Progress), writes behind their readers (Pending)
// and rebuilds them while they serve (Handle); Model holds the four for
// one read model, which brings its own fold and rows.
package derived

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A read model's file is derived from the log, so its commits are not synced
// to disk one by one (bbolt NoSync): a commit is then a write to the page
// cache, which a killed process (SIGKILL, a panic) does not lose; only a
// power loss or kernel crash can lose recent pages or tear the file. So
// that such a file is never trusted:
//
//   - while the file is open it has a marker beside it (path+".unsynced")
//     naming the boot it is written in; Close syncs the file and removes
//     it. A marker of another boot (or of an unknown one) means the machine
//     went down with unsynced pages: Open deletes the file, and Run folds
//     the log again from the start.
//   - a file that has a marker and fails to open (torn pages) is deleted
//     and folded again as well.
//   - Run compares the checkpoint with the store's last position: a
//     checkpoint ahead of the log (a store restored from an older backup,
//     or one that itself lost a tail) empties the file and folds again
//     (each read model's Run does that).
const markerSuffix = ".unsynced"

// bootID names the running boot of the machine ("" when unknown).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// marked reports whether path has a marker, and whether it is stale: left
// by another (or an unknown) boot.
func marked(path string) (has, stale bool, err error) {
	b, err := os.ReadFile(path + markerSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read marker: %w", err)
	}
	id := bootID()
	return true, id == "" || string(b) != id, nil
}

// mark durably records that path is about to take unsynced commits.
func mark(path string) error {
	f, err := os.OpenFile(path+markerSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	_, err = f.WriteString(bootID())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// discard deletes a file that cannot be trusted, and its marker.
func discard(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete untrusted %s: %w", path, err)
	}
	if err := os.Remove(path + markerSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete marker: %w", err)
	}
	return nil
}

// corrupt tells an error of opening a file that may be torn from one that
// says nothing about its content (locked by another process, no access).
func corrupt(err error) bool {
	return err != nil && !errors.Is(err, bolt.ErrTimeout) && !errors.Is(err, fs.ErrPermission) &&
		!errors.Is(err, fs.ErrNotExist)
}

// Open opens the read model file at path with open (which also reads
// what the caller needs from it, such as its checkpoint), after deleting
// a file a power loss may have torn; it sets NoSync and marks the file.
// A deleted file is created empty by open, and folded again from the
// start by its read model.
func Open[T any](path string, open func(path string) (*bolt.DB, T, error)) (*bolt.DB, T, error) {
	var zero T
	has, stale, err := marked(path)
	if err != nil {
		return nil, zero, err
	}
	if stale {
		if err := discard(path); err != nil {
			return nil, zero, err
		}
	}
	db, v, err := open(path)
	if has && !stale && corrupt(err) {
		if err := discard(path); err != nil {
			return nil, zero, err
		}
		db, v, err = open(path)
	}
	if err != nil {
		return nil, zero, err
	}
	if err := mark(path); err != nil {
		_ = db.Close()
		return nil, zero, err
	}
	db.NoSync = true
	return db, v, nil
}

// Close syncs and closes a file opened by Open, and removes its marker: a
// file closed cleanly is trusted at the next Open whatever happens between.
func Close(db *bolt.DB, path string) error {
	// Commits leave the free pages out (OpenFile); the last one writes
	// them, so that the next Open reads them instead of walking the whole
	// file (seconds for a million persons' files out of the page cache).
	ferr := db.Update(func(tx *bolt.Tx) error {
		tx.DB().NoFreelistSync = false
		return nil
	})
	if ferr != nil {
		ferr = fmt.Errorf("write the free pages: %w", ferr)
	}
	serr := db.Sync()
	if serr != nil {
		serr = fmt.Errorf("sync: %w", serr)
	}
	if err := db.Close(); err != nil {
		return err
	}
	if err := errors.Join(ferr, serr); err != nil {
		return err
	}
	if err := os.Remove(path + markerSuffix); err != nil {
		return fmt.Errorf("remove marker: %w", err)
	}
	return nil
}
