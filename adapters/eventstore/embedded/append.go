package embedded

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
)

// request is one Append or AppendMany waiting for the writer.
type request struct {
	ctx     context.Context
	appends []streamAppend
	events  int
	// deferred: the appender does not wait for a sync
	// (eventstore.WithDeferredSync); a request that is not makes its
	// batch synced, and with it everything applied before.
	deferred bool

	// Set by the writer before done is closed.
	results []eventstore.AppendResult
	err     error
	done    chan struct{}
}

type streamAppend struct {
	stream   string
	expected eventstore.ExpectedRevision
	events   []pendingEvent
}

// pendingEvent is an event encoded by its appender, so that the writer only
// copies it and the caller's slices are not read after Append returns; sum
// is the body's digest for the hash chain, also computed by the appender.
type pendingEvent struct {
	id   uuid.UUID
	body []byte
	sum  chainHash
}

// Append appends events to one stream; see eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	a, err := prepare(stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.submit(ctx, []streamAppend{a}, len(events))
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return res[0], nil
}

// AppendMany appends to several streams in one batch: all or nothing.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if len(appends) == 0 {
		return nil, ctx.Err()
	}
	prepared := make([]streamAppend, len(appends))
	n := 0
	for i, a := range appends {
		p, err := prepare(a.Stream, a.Expected, a.Events)
		if err != nil {
			return nil, err
		}
		prepared[i] = p
		n += len(a.Events)
	}
	return s.submit(ctx, prepared, n)
}

func prepare(stream string, expected eventstore.ExpectedRevision, events []eventstore.Event) (streamAppend, error) {
	if err := checkStream(stream); err != nil {
		return streamAppend{}, fmt.Errorf("append to %q: %w", stream, err)
	}
	a := streamAppend{stream: stream, expected: expected, events: make([]pendingEvent, len(events))}
	for i := range events {
		ev := &events[i]
		if err := checkEvent(ev); err != nil {
			return streamAppend{}, fmt.Errorf("append to %s: event %d: %w", stream, i, err)
		}
		body, err := appendBody(make([]byte, 0, 64+len(ev.Type)+len(ev.Data)), ev)
		if err != nil {
			return streamAppend{}, fmt.Errorf("append to %s: event %d: %w", stream, i, err)
		}
		a.events[i] = pendingEvent{id: ev.ID, body: body, sum: bodySum(body)}
	}
	return a, nil
}

func checkEvent(ev *eventstore.Event) error {
	switch {
	case ev.ID == uuid.Nil:
		return fmt.Errorf("%w: no id", ErrInvalidEvent)
	case ev.Type == "":
		return fmt.Errorf("%w: %s: no type", ErrInvalidEvent, ev.ID)
	case len(ev.Data) > 0 && !jsonscan.IsJSON(ev.Data):
		return fmt.Errorf("%w: %s: data is not JSON", ErrInvalidEvent, ev.ID)
	}
	return nil
}

// submit queues the request and waits for the writer's reply. It never
// blocks on a full queue: it fails with ErrOverloaded instead.
func (s *Store) submit(ctx context.Context, appends []streamAppend, events int) ([]eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &request{ctx: ctx, appends: appends, events: events, deferred: eventstore.DeferredSync(ctx), done: make(chan struct{})}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, eventstore.ErrClosed
	case s.cfg.readOnly:
		s.mu.Unlock()
		return nil, ErrReadOnly
	case s.syncErr != nil:
		err := s.syncErr
		s.mu.Unlock()
		return nil, err
	case s.queued > 0 && s.queued+events > s.cfg.queueSize:
		s.mu.Unlock()
		return nil, fmt.Errorf("append %d events with %d queued (queue size %d): %w", events, s.queued, s.cfg.queueSize, eventstore.ErrOverloaded)
	}
	s.pending = append(s.pending, r)
	s.queued += events
	s.wake.Signal()
	s.mu.Unlock()

	select {
	case <-r.done:
		return r.results, r.err
	case <-ctx.Done():
		// The writer skips a request whose context is done, but it may
		// already have committed it: a retry is safe, appends being
		// idempotent by event id.
		return nil, ctx.Err()
	}
}

// Sync returns once every append that returned before it is durable and
// seen by the readers of the log (eventstore.Syncer): a request with no
// append, not deferred, makes the writer sync what it applied.
func (s *Store) Sync(ctx context.Context) error {
	if s.last.Load() >= s.applied.Load() {
		return nil
	}
	_, err := s.submit(ctx, nil, 0)
	return err
}
