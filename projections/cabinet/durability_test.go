package cabinet_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
)

// A marker left by another boot means unsynced pages may be lost: the file
// is deleted and folded again from the log.
func TestFileOfAnotherBootIsFoldedAgain(t *testing.T) {
	f := newFixture(t)
	openMove(f)
	pos := f.cab.Position()
	f.stop()
	if err := os.WriteFile(filepath.Join(f.dir, "cabinet.db.unsynced"), []byte("another boot"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.open()
	if got := f.cab.Position(); got != 0 {
		t.Fatalf("position after a crash of another boot = %d, want 0 (folded again)", got)
	}
	f.wait(pos)
}

// A checkpoint ahead of the store (a store restored from an older backup)
// empties the cabinet, which folds the store it has.
func TestCheckpointAheadOfTheLogFoldsAgain(t *testing.T) {
	f := newFixture(t)
	openMove(f)
	openMove(f)
	f.stop()
	older, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = older.Close() })
	f.store = older
	began := time.Now()
	f.open()
	for f.cab.Position() != 0 { // Run empties it when it starts
		if time.Since(began) > 10*time.Second {
			t.Fatalf("position %d ahead of an empty log was kept", f.cab.Position())
		}
		time.Sleep(time.Millisecond)
	}
	openMove(f)
}
