package embedded

import (
	"fmt"

	"github.com/cockroachdb/pebble"

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

		// The queue is freed before the appenders hear back: one told its
		// append is done must not find its own events still counted
		// against the queue by its next append (TestOverloaded saw it).
		events := 0
		for _, r := range batch {
			events += r.events
		}
		s.mu.Lock()
		s.queued -= events
		s.mu.Unlock()
		for _, r := range batch {
			close(r.done)
		}
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

// commit writes a batch in one synced Pebble batch and sets each request's
// outcome. When the commit itself fails, each request is retried alone so
// that one request the database cannot take does not fail the others.
func (s *Store) commit(batch []*request) {
	err := s.commitBatch(batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].results, batch[0].err = nil, err
		return
	}
	for _, r := range batch {
		if err := s.commitBatch([]*request{r}); err != nil {
			r.results, r.err = nil, err
		}
	}
}

// commitBatch plans the requests into one batch and commits it with a sync.
// A request whose expectation fails gets its own error and writes nothing;
// an error returned means nothing was committed and no request's outcome is
// set.
func (s *Store) commitBatch(batch []*request) error {
	p := s.plan
	if err := p.begin(s, s.cfg.clock.Now()); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	defer p.end()
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
		results, reqErr, err := p.apply(r)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		outcomes[i] = outcome{results, reqErr}
	}

	// Nothing new (duplicates, conflicts): no sync needed.
	if p.next != s.next {
		if err := p.writeHeads(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if err := p.batch.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("commit %d events: %w", p.next-s.next, err)
		}
		s.stats.commits.Add(1)
		s.stats.events.Add(p.next - s.next)
		// Before last is published: readers take from the tail only up to it.
		s.tail.add(p.batch, s.next, p.next-s.next)
		s.next, s.chain = p.next, p.chain
		s.heads.update(p.heads)
		s.last.Store(p.next - 1)
		s.commits.fire()
	}
	for i, r := range batch {
		r.results, r.err = outcomes[i].results, outcomes[i].err
	}
	return nil
}
