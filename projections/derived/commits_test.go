package derived

import (
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// The commits of a read model's file are counted, and the count only grows
// when a rebuild replaces the file: the replaced file's commits stay in it.
func TestCommitsAreCountedAcrossARebuild(t *testing.T) {
	ctx := context.Background()
	store, path, h := liveCount(ctx, t, 40)
	defer func() { _ = Close(h.DB(), path) }()

	start := h.Commits()
	evs, err := store.ReadAll(ctx, 0, eventstore.Filter{}, 40)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := h.Fold(func(db *bolt.DB) error { return foldCount(db, evs[i:i+1]) }); err != nil {
			t.Fatal(err)
		}
	}
	folded := h.Commits().Sub(start)
	// Each commit writes at least the changed leaf and the meta page.
	if folded.Writes < 2*int64(len(evs)) || folded.Pages < int64(len(evs)) || folded.Time <= 0 {
		t.Fatalf("40 commits counted as %+v", folded)
	}

	before := h.Commits()
	err = h.Rebuild(ctx, store, path, Rebuilder{
		Open: openCount,
		Live: func() eventstore.Position { return 40 },
		Fold: foldCount,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := h.Commits()
	if d := after.Sub(before); d.Writes <= 0 || d.Pages <= 0 {
		t.Fatalf("after the switch the count went from %+v to %+v: the replaced file's commits are lost, or the rebuild's not counted", before, after)
	}
}
