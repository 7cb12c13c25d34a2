package embedded_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/eventstore"
)

// A backup taken while the store serves holds every event appended before
// it, verifies, and opens as a store of its own.
func TestBackupWhileServing(t *testing.T) {
	ctx := context.Background()
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 50 {
		ev := eventstore.Event{ID: uuid.New(), Type: "test.happened", Data: []byte(`{"n":1}`)}
		if _, err := s.Append(ctx, "test-"+string(rune('a'+i%5)), eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "backup")
	last, err := s.Backup(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if last != 50 {
		t.Errorf("backup holds up to %d, want 50", last)
	}
	if _, err := s.Backup(ctx, dir); err == nil {
		t.Error("a backup over an existing directory must be refused")
	}
	// The original goes on.
	if _, err := s.Append(ctx, "test-z", eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "test.after", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}

	b, err := embedded.Open(dir)
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer b.Close()
	evs, err := b.ReadAll(ctx, 0, eventstore.Filter{}, 1000)
	if err != nil || len(evs) != 50 {
		t.Fatalf("the backup holds %d events (%v), want 50", len(evs), err)
	}
	breaks, err := b.VerifyChain(ctx, nil)
	if err != nil || len(breaks) != 0 {
		t.Errorf("the backup's chain: %v %v", breaks, err)
	}
}
