package embedded

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// maxDeferral bounds how long deferred appends wait for their sync while
// more appends keep coming (they are synced at once when none waits).
const maxDeferral = 2 * time.Millisecond

// runWriter is the single writer: it commits the waiting requests in
// batches until the store is closed and the queue is empty.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	defer close(s.syncWanted) // the syncer syncs what is left, then stops
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
		idle, synced := len(s.pending) == 0, false
		for _, r := range s.pending {
			synced = synced || !r.deferred
		}
		s.mu.Unlock()
		for _, r := range batch {
			close(r.done)
		}
		// Deferred appends are synced beside the writer, which goes on
		// with the next batch meanwhile: once no append waits, or after
		// maxDeferral under a steady flow. Each sync takes whatever was
		// applied when it starts. A synced append waiting syncs them
		// anyway, with its own batch.
		if s.applied.Load() > s.last.Load() && !synced && (idle || time.Since(s.unsyncedSince) >= maxDeferral) {
			select {
			case s.syncWanted <- struct{}{}:
			default: // one is asked for already
			}
		}
	}
}

// runSyncer syncs the deferred appends when the writer asks, and once more
// when the writer has stopped.
func (s *Store) runSyncer() {
	defer close(s.syncerDone)
	for range s.syncWanted {
		if s.cfg.beforeSync != nil {
			s.cfg.beforeSync()
		}
		s.syncDeferred()
	}
	s.syncDeferred()
}

// syncDeferred syncs the deferred appends for the syncer. A failed sync
// may have lost them: the store then takes no more appends.
func (s *Store) syncDeferred() {
	if err := s.syncApplied(); err != nil {
		s.mu.Lock()
		s.syncErr = err
		s.mu.Unlock()
	}
}

// syncApplied syncs the write-ahead log if deferred appends are not
// durable yet, then publishes them to the readers of the log.
func (s *Store) syncApplied() error {
	applied := s.applied.Load()
	if applied <= s.last.Load() {
		return nil
	}
	if err := s.eng.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("sync deferred appends: %w", err)
	}
	s.publish(applied)
	return nil
}

// publish makes the log up to pos, durable, visible to its readers.
func (s *Store) publish(pos eventstore.Position) {
	for {
		last := s.last.Load()
		if pos <= last {
			return
		}
		if s.last.CompareAndSwap(last, pos) {
			s.commits.fire()
			return
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

	// A batch of deferred appends only is committed without a sync; any
	// other is synced, and its sync makes durable every deferred append
	// applied before it (the write-ahead log is synced up to its end).
	deferred := true
	for _, r := range batch {
		deferred = deferred && r.deferred
	}
	switch {
	case p.next != s.next:
		if err := p.writeHeads(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		opts := pebble.Sync
		if deferred {
			opts = pebble.NoSync
		}
		if err := p.batch.Commit(opts); err != nil {
			return fmt.Errorf("commit %d events: %w", p.next-s.next, err)
		}
		s.stats.commits.Add(1)
		s.stats.events.Add(p.next - s.next)
		// Before last is published: readers take from the tail only up to it.
		s.tail.add(p.batch, s.next, p.next-s.next)
		s.next, s.chain = p.next, p.chain
		s.heads.update(p.heads)
		if s.applied.Load() <= s.last.Load() {
			s.unsyncedSince = time.Now()
		}
		s.applied.Store(p.next - 1)
		if !deferred {
			s.publish(p.next - 1)
		}
	case !deferred:
		// Nothing new (duplicates, conflicts, a Sync): the deferred
		// appends before it are synced all the same.
		if err := s.syncApplied(); err != nil {
			return err
		}
	}
	for i, r := range batch {
		r.results, r.err = outcomes[i].results, outcomes[i].err
	}
	return nil
}
