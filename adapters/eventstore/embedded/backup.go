package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// Backup writes a consistent copy of the store into dir (which must not
// exist) while the store keeps serving: a Pebble checkpoint, hard links
// where the file system allows, with the write-ahead log flushed first so
// that every event acknowledged before the call is in it. dir then holds a
// data directory of its own: open it (or start a server on it) to restore;
// the read models are rebuilt from the log. It returns the last position
// the copy holds at least.
func (s *Store) Backup(ctx context.Context, dir string) (eventstore.Position, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	if _, err := os.Stat(dir); err == nil {
		return 0, fmt.Errorf("backup: %s exists already", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	last := s.last.Load()
	err := s.view(func() error {
		return s.eng.db.Checkpoint(filepath.Join(dir, FileName), pebble.WithFlushedWAL())
	})
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", dir, err)
	}
	return last, nil
}
