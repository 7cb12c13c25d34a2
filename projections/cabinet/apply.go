package cabinet

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// lazyCheckpoint bounds how far the persisted checkpoint may lag behind the
// folded position over events that are not about situations: those change
// no row, so they need no transaction of their own, and a restart merely
// reads them again.
const lazyCheckpoint = 10_000

// apply folds a batch of events, in log order, in one transaction that also
// moves the checkpoint to the last of them. Events at or before the
// position are skipped, so a batch delivered again changes nothing. It must
// not run concurrently with itself (Run is its only caller).
func (c *Cabinet) apply(events []eventstore.RecordedEvent) error {
	return c.file.Fold(func(db *bolt.DB) error {
		last, persisted, err := applyTo(db, events, c.Position(), c.persisted, c.cache)
		if err != nil {
			return fmt.Errorf("cabinet: %w", err)
		}
		c.persisted = persisted
		c.progress.Publish(last)
		return nil
	})
}

// applyTo folds the events after from into db, whose checkpoint is
// persisted, and returns the position reached (0 when no event is past
// from) and the checkpoint db then holds: a batch without situation events
// writes nothing unless the checkpoint would lag lazyCheckpoint behind.
// cache (nil: none) keeps the situations folded for the next batches.
func applyTo(db *bolt.DB, events []eventstore.RecordedEvent, from, persisted eventstore.Position, cache *foldCache) (last, held eventstore.Position, err error) {
	touches := false
	for _, e := range events {
		if e.Position > from {
			last = e.Position
			touches = touches || folds(e)
		}
	}
	if last == 0 {
		return 0, persisted, nil
	}
	if !touches && last-persisted < lazyCheckpoint {
		return last, persisted, nil
	}
	cache.on(db)
	var b *batch
	err = db.Update(func(tx *bolt.Tx) error {
		b = newBatch(tx, cache)
		for _, e := range events {
			if e.Position <= from || !folds(e) {
				continue
			}
			if err := b.apply(e); err != nil {
				return fmt.Errorf("fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		return derived.SetCheckpoint(tx, bucketMeta, last)
	})
	if err != nil {
		// The batch folded cached situations in place: they no longer
		// match the file.
		cache.clear()
		return 0, persisted, err
	}
	cache.keep(b.order)
	return last, last, nil
}

func isSituation(stream string) bool { return strings.HasPrefix(stream, situation.StreamPrefix) }
