package sagarouter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// Shared worker processes: with Config.Shared set, this process is one of
// several worker processes that the store's server splits the person
// space between (on EventStoreDB: a persistent subscription group to $all
// with the Pinned consumer strategy, see esdb.Store.SubscribePersistent).
//
//   - Who handles a person: the process joins the group Config.Partitions
//     times, one consumer per partition, each handling its events one at a
//     time. The server hashes each event's stream (a person's stream) to a
//     bucket and gives each bucket to one consumer, of this process or
//     another: a person's events go to one consumer, in order, while the
//     consumers stay the same. So per-person order inside a process is the
//     server's pinning, with no second partitioning in the process. (The
//     server calls this best effort: a retried event may come after a later
//     one. The sagas do not depend on delivery order: a decision waits for
//     the register, folded in log order, to reach its trigger.) The server
//     pins by stream, not by the partition key the embedded partitions use:
//     a birth is in the child's stream, so two births of one mother may be
//     decided at once by two consumers, which the embedded partitioning
//     (by mother) avoids; the situations' consequences (supersede, withdraw
//     on death) cover decisions taken at the same time, as they do across
//     persons.
//   - Rebalance: a consumer that leaves (its process stops or crashes, its
//     connection drops) has its buckets and its unacknowledged events
//     handed to the other consumers by the server; a consumer that joins
//     takes some buckets over.
//   - Delivery is at least once, effects exactly once: an event is
//     acknowledged only after its handler succeeded (or it was
//     dead-lettered after the retries, as on the embedded store); a failure
//     of the system (store overloaded or closed, the stop) nacks it for a
//     retry and the consumer joins again after a pause. An event handled
//     twice appends only duplicates: the sagas' event ids are deterministic
//     and the store's appends idempotent.
//   - Settled and the lag gauge can only speak for this process: its
//     consumers have no call in progress and its timers' index has folded
//     the log. Whether the group has events not yet delivered to anyone is
//     the server's to tell (its subscription statistics).
//
// Timers: every worker process keeps the whole timers' index (a catch-up
// subscription to the situation streams, as before), and the core fires
// what comes due in each process. Timers of persons another process
// handles are thus never lost when that process stops, and a timer fired
// by two processes appends once (deterministic ids); the price is that
// each process attempts every due timer. See docs/architecture.md.

// SharedSubscribe joins the group of consumers the store's server splits
// the person- streams' events between, and calls handle for each event it
// delivers to this consumer, one at a time: nil acknowledges the event, an
// error gives it back for a retry. It returns when ctx is done or when a
// handle failed (after giving the event back).
type SharedSubscribe func(ctx context.Context, handle func(eventstore.RecordedEvent) error) error

// SharedFilter is what the trigger consumers want of the log: the person
// streams, where every trigger is.
var SharedFilter = eventstore.Filter{StreamPrefixes: []string{triggerTopic}}

// sharedConsumer is one consumer of the shared group in this process.
type sharedConsumer struct {
	index  int
	handle message.HandlerFunc // the saga call with its middleware
	busy   atomic.Int32        // calls in progress
}

// shared is the state of a router in shared mode.
type shared struct {
	subscribe SharedSubscribe
	trigger   func(eventstore.RecordedEvent) bool
	consumers []*sharedConsumer
	handled   sharedMeters
	logger    interface {
		Warn(msg string, args ...any)
	}

	mu      sync.Mutex // guards what follows, so that a stop never races a start
	cancel  context.CancelFunc
	stopped bool
	running sync.WaitGroup
}

// handlerNameKey carries the consumer's name for the dead letters, as
// Watermill's router does for its handlers.
type handlerNameKey struct{}

func sharedHandlerName(i int) string { return fmt.Sprintf("situation-triggers-shared-%d", i) }

// run runs the consumers until ctx is done or stop is called.
func (s *shared) run(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	for _, c := range s.consumers {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			s.consume(ctx, c)
		}()
	}
}

// stop ends the consumers and waits for them: their events in flight go
// back to the server unacknowledged, for the other consumers.
func (s *shared) stop() {
	s.mu.Lock()
	s.stopped = true
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.running.Wait()
}

// consume keeps consumer c in the group until ctx is done: after a failed
// event (given back to the server) or a dropped subscription it joins
// again after a growing pause.
func (s *shared) consume(ctx context.Context, c *sharedConsumer) {
	name := sharedHandlerName(c.index)
	pause := 50 * time.Millisecond
	for {
		err := s.subscribe(ctx, func(ev eventstore.RecordedEvent) error {
			if !s.trigger(ev) {
				return nil // acknowledged: nothing for the sagas
			}
			c.busy.Add(1)
			defer c.busy.Add(-1)
			msg := watermillstore.MessageOf(ev)
			msg.SetContext(context.WithValue(ctx, handlerNameKey{}, name))
			if _, err := c.handle(msg); err != nil {
				return fmt.Errorf("%s: event %s: %w", name, ev.ID, err)
			}
			s.handled.events.Inc()
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, eventstore.ErrClosed) {
			s.logger.Warn("saga consumer stops: the store is closed", "consumer", name)
			return
		}
		s.logger.Warn("saga consumer joins the shared group again", "consumer", name, "after", pause, "err", err)
		if err := sleepCtx(ctx, pause); err != nil {
			return
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// idle reports whether no consumer has a call in progress.
func (s *shared) idle() bool {
	for _, c := range s.consumers {
		if c.busy.Load() > 0 {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sharedMeters count what this process handled of the shared group.
type sharedMeters struct{ events prometheus.Counter }

func newSharedMeters(reg prometheus.Registerer) (sharedMeters, error) {
	m := sharedMeters{events: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "lifesituations", Subsystem: "saga", Name: "shared_triggers_handled_total",
		Help: "Trigger events this worker process handled of those the store's server splits between the worker processes (redeliveries included).",
	})}
	if reg != nil {
		if err := reg.Register(m.events); err != nil {
			return m, fmt.Errorf("saga router metrics: %w", err)
		}
	}
	return m, nil
}
