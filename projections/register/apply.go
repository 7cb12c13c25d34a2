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

// Apply folds a batch of events, in log order, in one transaction that also
// moves the checkpoint to the last of them. Events at or before the
// checkpoint are skipped, so a batch delivered again changes nothing. Run
// feeds it from the log; a caller that gets the log some other way (or
// seeds a register) may call it directly.
func (p *Projection) Apply(events []eventstore.RecordedEvent) error {
	return p.file.Fold(func(db *bolt.DB) error {
		reached, err := applyTo(db, events)
		if err != nil {
			return fmt.Errorf("register: %w", err)
		}
		p.progress.Publish(reached)
		return nil
	})
}

// applyTo folds the events after db's checkpoint into db in one
// transaction that moves the checkpoint to the last of them, and returns
// the checkpoint.
func applyTo(db *bolt.DB, events []eventstore.RecordedEvent) (eventstore.Position, error) {
	var reached eventstore.Position
	err := db.Update(func(tx *bolt.Tx) error {
		pos, err := derived.Checkpoint(tx, bucketMeta)
		if err != nil {
			return err
		}
		b := newBatch(tx)
		for _, e := range events {
			if e.Position <= pos {
				continue
			}
			if err := b.apply(e, Decoded{}); err != nil {
				return fmt.Errorf("fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
			}
			pos = e.Position
		}
		if err := b.flush(); err != nil {
			return err
		}
		reached = pos
		return derived.SetCheckpoint(tx, bucketMeta, pos)
	})
	return reached, err
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
