package register

import (
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// OpenScratch opens (creating if needed) a register file for a one-off fold
// that nothing depends on surviving a crash: an auditor's replay or a
// rebuild that is switched in only once complete. Transactions are not
// synced to disk, so that a fold split into many small transactions (one
// per position an auditor looks at the register as of) stays fast; Close
// still leaves a complete file.
func OpenScratch(path string) (*Projection, error) {
	p, err := OpenProjection(path)
	if err != nil {
		return nil, err
	}
	p.model.Scratch()
	return p, nil
}

// Sync flushes a scratch register to disk.
func (p *Projection) Sync() error { return p.model.Sync() }

// Fold is a scratch register's fold kept in ONE open write transaction
// across many Apply calls, so that a replay which looks at the register as
// of many positions (an auditor's: every few events) does not pay a commit
// for each. Its reads see everything folded so far, committed or not (a
// bbolt write transaction reads its own writes); it commits only every
// commitEvery events and at Commit. Meanwhile the register's own reads
// (Projection.Family, ...) see only what was committed. Not safe for
// concurrent use; the Projection must not be closed before Commit or
// Rollback.
type Fold struct {
	p           *Projection
	tx          *bolt.Tx
	b           *batch
	pos         eventstore.Position // checkpoint folded (committed or not)
	pending     int                 // events folded since the last commit
	commitEvery int
	err         error // the first failure, which ended the Fold
}

// BeginFold starts a Fold on a register (meant for one opened with
// OpenScratch), committing every commitEvery events (at least 1).
func (p *Projection) BeginFold(commitEvery int) (*Fold, error) {
	f := &Fold{p: p, commitEvery: max(commitEvery, 1)}
	if err := f.begin(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Fold) begin() error {
	tx, err := f.p.model.DB().Begin(true)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	pos, err := derived.Checkpoint(tx, bucketMeta)
	if err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("register: %w", err)
	}
	f.tx, f.b, f.pos, f.pending = tx, newBatch(tx), pos, 0
	return nil
}

// Apply folds events, in log order, as Projection.Apply does (events at or
// before the checkpoint are skipped), into the open transaction.
func (f *Fold) Apply(events []eventstore.RecordedEvent) error { return f.ApplyDecoded(events, nil) }

// ApplyDecoded is Apply with the events' data decoded ahead, as
// Memory.ApplyDecoded.
func (f *Fold) ApplyDecoded(events []eventstore.RecordedEvent, decoded []Decoded) error {
	if f.tx == nil {
		return f.ended()
	}
	for i, e := range events {
		if e.Position <= f.pos {
			continue
		}
		if err := f.b.apply(e, decodedAt(decoded, i)); err != nil {
			return f.fail(fmt.Errorf("register: fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err))
		}
		f.pos = e.Position
		f.pending++
		if f.pending >= f.commitEvery {
			if err := f.commit(); err != nil {
				return f.fail(err)
			}
			if err := f.begin(); err != nil {
				return f.fail(err)
			}
		}
	}
	return nil
}

// Family is Projection.Family as of everything folded so far. It reads the
// rows the transaction holds decoded (a copy of them, as decoding the stored
// row would give) or else the stored rows: nothing needs writing first. It
// is empty once the Fold has ended.
func (f *Fold) Family(id string) map[string]catalogue.Person {
	if f.tx == nil {
		return map[string]catalogue.Person{}
	}
	return familyOf(id, func(id string) (Facts, bool) {
		r, err := f.b.load(id)
		if r == nil || err != nil {
			return Facts{}, false
		}
		return cloneFacts(r.facts), true
	})
}

// cloneFacts copies a row deeply, so that folding more events into the
// original does not change the copy. A nil list or map stays nil and an
// empty one empty, as through the row's JSON.
func cloneFacts(f Facts) Facts {
	f.Children = slices.Clone(f.Children)
	f.Parents = slices.Clone(f.Parents)
	f.Granted = slices.Clone(f.Granted)
	f.Incomes = maps.Clone(f.Incomes)
	f.Spouses = slices.Clone(f.Spouses)
	return f
}

// commit writes the folded rows and the checkpoint and commits.
func (f *Fold) commit() error {
	tx := f.tx
	f.tx = nil
	err := f.b.flush()
	if err == nil {
		err = derived.SetCheckpoint(tx, bucketMeta, f.pos)
	}
	if err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("register: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	f.b = nil
	f.p.model.Publish(f.pos)
	return nil
}

// Commit commits what is folded and ends the Fold.
func (f *Fold) Commit() error {
	if f.tx == nil {
		return f.ended()
	}
	if err := f.commit(); err != nil {
		return f.fail(err)
	}
	f.err = fmt.Errorf("register: fold: %w", bolt.ErrTxClosed)
	return nil
}

// fail ends the Fold on err, dropping what was not committed.
func (f *Fold) fail(err error) error {
	if f.err == nil {
		f.err = err
	}
	f.Rollback()
	return err
}

// ended is the error of using a Fold that has ended.
func (f *Fold) ended() error {
	if f.err != nil {
		return f.err
	}
	return fmt.Errorf("register: fold: %w", bolt.ErrTxClosed)
}

// Rollback drops what was folded since the last commit and ends the Fold;
// it does nothing once the Fold has ended.
func (f *Fold) Rollback() {
	if f.tx != nil {
		_ = f.tx.Rollback()
		f.tx, f.b = nil, nil
		if f.err == nil {
			f.err = fmt.Errorf("register: fold: %w", bolt.ErrTxClosed)
		}
	}
}
