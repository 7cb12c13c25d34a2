package cabinet

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// apply folds a batch of events, in log order, and makes them visible at
// once, as Run does (see derived.Model.Apply): for the tests and
// benchmarks that feed the cabinet batches of their own. It must not run
// concurrently with itself or with Run.
func (c *Cabinet) apply(events []eventstore.RecordedEvent) error {
	return c.model.Apply(events, c.fold)
}

// fold is the cabinet's derived.FoldFunc, with its cache.
func (c *Cabinet) fold(db *bolt.DB, p *derived.Pending, events []eventstore.RecordedEvent, from eventstore.Position) (eventstore.Position, error) {
	return applyTo(db, p, events, from, c.cache)
}

// applyTo folds the events after from into the file db under p, and
// returns the position reached (from when no event is past it). A batch
// without situation events writes nothing but moves the checkpoint. cache
// (nil: none) keeps the situations folded for the next batches.
func applyTo(db *bolt.DB, p *derived.Pending, events []eventstore.RecordedEvent, from eventstore.Position, cache *foldCache) (eventstore.Position, error) {
	last := from
	touches := false
	for _, e := range events {
		if e.Position > from {
			last = e.Position
			touches = touches || folds(e)
		}
	}
	if last == from {
		return from, nil
	}
	if !touches {
		return last, p.Merge(nil, last, db)
	}
	cache.on(db)
	var order []*folded
	v, err := p.Fold(db, func(v *derived.Batch) error {
		b := newBatch(v, cache)
		for _, e := range events {
			if e.Position <= from || !folds(e) {
				continue
			}
			if err := b.apply(e); err != nil {
				return fmt.Errorf("fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
			}
		}
		b.flush()
		order = b.order
		return nil
	})
	if err != nil {
		// The batch folded cached situations in place: they no longer
		// match what readers see.
		cache.clear()
		return from, err
	}
	// Merged, the situations are as the cache keeps them, even when the
	// commit Merge reports on failed (the fold stops on it).
	cache.keep(order)
	return last, p.Merge(v, last, db)
}

func isSituation(stream string) bool { return strings.HasPrefix(stream, situation.StreamPrefix) }
