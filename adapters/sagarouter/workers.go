package sagarouter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/adapters/watermillstore"
)

// Workers: the trigger partitions are shared between Config.Workers worker
// groups in this process, partition i starting with worker i mod Workers.
// StopWorker takes a worker out and hands its partitions to the live ones:
//
//  1. each of its partitions' handlers is stopped (Watermill's
//     Handler.Stop) and StopWorker waits until it has stopped
//     (Handler.Stopped): its subscription has ended and saved its
//     checkpoint, which never passes an event not yet handled;
//  2. the stopped handler is retired: StopWorker waits for a call it still
//     had in progress, and a call of it that starts later is refused (its
//     message's delivery has already ended, so the event is delivered
//     again);
//  3. only then is the partition's new handler added to the running
//     Watermill router (AddConsumerHandler, RunHandlers) for the worker
//     that takes it over; it resumes after the saved checkpoint.
//
// So no two handlers ever handle one partition (one person) at once, no
// event is lost (a checkpoint is saved only past handled events), and an
// event handled but not yet checkpointed is delivered again, which the
// sagas' deterministic event ids make harmless. Settled stays correct
// throughout: a partition's progress outlives its handlers.

// partition is one share of the person space, whichever worker runs it.
type partition struct {
	index    int
	progress *progress
	sub      *watermillstore.Subscriber // its subscriptions resume from the partition's checkpoint
	handle   message.HandlerFunc        // the saga call with its middleware
	owner    int                        // worker running it; guarded by Router.mu
	current  *incarnation               // guarded by Router.mu
	active   atomic.Int32               // handler calls in progress, of any incarnation
}

// incarnation is one handler a partition has run under one worker.
type incarnation struct {
	handler *message.Handler
	mu      sync.RWMutex // held for reading by each call, for writing to retire
	retired bool
}

// chained applies middleware to h, the first outermost, as a Watermill
// handler does: the partitions' handlers carry their middleware themselves,
// since a handler added again under the same name would otherwise collect
// its middleware twice in the router.
func chained(h message.HandlerFunc, mw []message.HandlerMiddleware) message.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

func handlerName(p *partition) string { return fmt.Sprintf("situation-triggers-%d", p.index) }

// startPartition adds p's handler to the router; Run starts it, or
// RunHandlers once the router runs. r.mu is held, or New is building r.
func (r *Router) startPartition(p *partition) {
	inc := &incarnation{}
	inc.handler = r.router.AddConsumerHandler(handlerName(p), triggerTopic, p.sub, func(msg *message.Message) error {
		inc.mu.RLock()
		defer inc.mu.RUnlock()
		if inc.retired {
			// A late call of a stopped handler: its delivery has ended
			// unacknowledged, the next handler delivers the event again.
			return context.Canceled
		}
		if p.active.Add(1) > 1 {
			r.overlaps.Add(1)
		}
		defer p.active.Add(-1)
		_, err := p.handle(msg)
		return err
	})
	p.current = inc
}

// Workers is the number of worker groups, stopped ones included.
func (r *Router) Workers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.workers)
}

// Assignment lists, for each worker, the partitions it runs; a stopped
// worker runs none.
func (r *Router) Assignment() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]int, len(r.workers))
	for _, p := range r.parts {
		out[p.owner] = append(out[p.owner], p.index)
	}
	return out
}

// Overlaps counts the times a partition's handler was called while
// another call for that partition was in progress: a safety check that
// must stay 0.
func (r *Router) Overlaps() uint64 { return r.overlaps.Load() }

// Reassigned counts the partitions handed from a stopped worker to another.
func (r *Router) Reassigned() uint64 { return r.reassigned.Load() }

// ErrLastWorker is returned when stopping the only live worker: nobody
// would take its partitions over.
var ErrLastWorker = errors.New("saga router: the last live worker cannot stop")

// StopWorker stops worker w's handlers and hands its partitions to the
// live workers (the least loaded first), which resume them from their
// checkpoints. It returns once they run again. The router must be running.
func (r *Router) StopWorker(w int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.router.Running():
	default:
		return errors.New("saga router: not running")
	}
	switch {
	case r.closed || r.router.IsClosed():
		return errors.New("saga router: closed")
	case w < 0 || w >= len(r.workers):
		return fmt.Errorf("saga router: no worker %d of %d", w, len(r.workers))
	case !r.workers[w]:
		return fmt.Errorf("saga router: worker %d already stopped", w)
	}
	live := 0
	for _, ok := range r.workers {
		if ok {
			live++
		}
	}
	if live == 1 {
		return ErrLastWorker
	}
	r.workers[w] = false

	var moved []*partition
	for _, p := range r.parts {
		if p.owner == w {
			moved = append(moved, p)
			p.current.handler.Stop()
		}
	}
	for _, p := range moved {
		<-p.current.handler.Stopped() // its subscription has saved its checkpoint
		p.current.mu.Lock()           // waits for a call in progress
		p.current.retired = true
		p.current.mu.Unlock()
	}
	if r.closed || r.router.IsClosed() {
		return errors.New("saga router: closed while stopping a worker")
	}
	load := make([]int, len(r.workers))
	for _, p := range r.parts {
		if p.owner != w {
			load[p.owner]++
		}
	}
	for _, p := range moved {
		to := -1
		for v, ok := range r.workers {
			if ok && (to < 0 || load[v] < load[to]) {
				to = v
			}
		}
		load[to]++
		p.owner = to
		r.startPartition(p)
	}
	if err := r.router.RunHandlers(r.runCtx); err != nil {
		return fmt.Errorf("saga router: restart partitions of worker %d: %w", w, err)
	}
	r.reassigned.Add(uint64(len(moved)))
	return nil
}
