package register

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/personaldata"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// Apply folds a batch of events, in log order, and makes them visible at
// once; the file takes them, with the checkpoint, at the next commit of the
// pending writes (see derived.Pending). Events at or before the position
// are skipped, so a batch delivered again changes nothing. Run feeds it
// from the log; a caller that gets the log some other way (or seeds a
// register) may call it directly.
func (p *Projection) Apply(events []eventstore.RecordedEvent) error {
	return p.model.Apply(events, applyTo)
}

// applyTo, the register's derived.FoldFunc, folds the events after from
// into the file db under pd, and returns the position reached (from when
// no event is past it).
func applyTo(db *bolt.DB, pd *derived.Pending, events []eventstore.RecordedEvent, from eventstore.Position) (eventstore.Position, error) {
	reached := from
	v, err := pd.Fold(db, func(v *derived.Batch) error {
		b := newViewBatch(v)
		for _, e := range events {
			if e.Position <= reached {
				continue
			}
			if err := b.apply(e, Decoded{}); err != nil {
				return fmt.Errorf("fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
			}
			reached = e.Position
		}
		return b.flush()
	})
	if err != nil || reached == from {
		return from, err
	}
	return reached, pd.Merge(v, reached, db)
}

// apply folds one event, with its data decoded ahead (Decode), or the
// zero Decoded to decode it here; events that change no fact are skipped.
func (b *batch) apply(e eventstore.RecordedEvent, d Decoded) error {
	if !d.tried {
		d = Decode(&e)
	}
	if done, err := b.applyDecoded(d); done {
		return err
	}
	switch {
	case e.Type == personaldata.TypeErased:
		return b.erase(e.Data)
	case strings.HasPrefix(e.Stream, lifeevent.StreamPrefix):
		t := lifeevent.Type(e.Type)
		if !t.Known() {
			return nil // the calendar's age.reached, say: derived, not a fact
		}
		payload, err := lifeevent.Decode(t, e.Data)
		if err != nil {
			return err
		}
		return b.applyLife(payload)
	case strings.HasPrefix(e.Stream, situation.StreamPrefix):
		return b.applySituation(e.Type, e.Data)
	}
	return nil
}
