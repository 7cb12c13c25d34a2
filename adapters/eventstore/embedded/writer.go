package embedded

import (
	"fmt"

	"lifesituations/domain/eventstore"
)

// runWriter is the single writer: it commits the waiting requests in
// batches until the store is closed and the queue is empty.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	for {
		if s.cfg.beforeBatch != nil {
			s.cfg.beforeBatch()
		}
		batch, ok := s.take()
		if !ok {
			return
		}
		s.commit(batch)

		events := 0
		for _, r := range batch {
			events += r.events
			close(r.done)
		}
		s.mu.Lock()
		s.queued -= events
		s.mu.Unlock()
	}
}

// take waits for requests and removes from the queue as many as fit in one
// batch (at least one). It returns false once the store is closed and the
// queue is empty.
func (s *Store) take() ([]*request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pending) == 0 {
		if s.closed {
			return nil, false
		}
		s.wake.Wait()
	}
	n, events := 0, 0
	for n < len(s.pending) && (n == 0 || events+s.pending[n].events <= s.cfg.maxBatch) {
		events += s.pending[n].events
		n++
	}
	batch := make([]*request, n)
	copy(batch, s.pending)
	rest := copy(s.pending, s.pending[n:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	return batch, true
}

// commit writes a batch in one transaction and sets each request's outcome.
// When the transaction itself fails, each request is retried alone so that
// one request the database cannot take does not fail the others.
func (s *Store) commit(batch []*request) {
	err := s.commitTx(batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].results, batch[0].err = nil, err
		return
	}
	for _, r := range batch {
		if err := s.commitTx([]*request{r}); err != nil {
			r.results, r.err = nil, err
		}
	}
}

// commitTx runs one write transaction over the requests. A request whose
// expectation fails gets its own error and writes nothing; an error returned
// means the transaction was rolled back and no request's outcome is set.
func (s *Store) commitTx(batch []*request) error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("commit: begin: %w", err)
	}
	// Runs after the transaction ends, whichever way.
	defer s.arena.reset()
	w, err := newTxWriter(tx, s.next, s.cfg.clock.Now(), &s.arena)
	if err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	type outcome struct {
		results []eventstore.AppendResult
		err     error
	}
	outcomes := make([]outcome, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			outcomes[i].err = err
			continue
		}
		results, reqErr, err := w.apply(r)
		if err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("commit: %w", err)
		}
		outcomes[i] = outcome{results, reqErr}
	}

	if w.next == s.next {
		// Nothing new (duplicates, conflicts): no sync needed.
		_ = tx.Rollback()
	} else {
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		s.stats.commits.Add(1)
		s.stats.events.Add(w.next - s.next)
		s.next = w.next
		s.last.Store(w.next - 1)
		s.commits.fire()
	}
	for i, r := range batch {
		r.results, r.err = outcomes[i].results, outcomes[i].err
	}
	return nil
}
