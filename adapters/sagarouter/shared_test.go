package sagarouter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
)

// fakeGroup stands for the store server's persistent subscription group:
// it hands the person streams' events to whichever consumer asks next,
// takes an event back when its handler fails (the adapter's nack; the
// consumer then returns, as SubscribePersistent does) and delivers it
// again first, and counts acknowledgements.
type fakeGroup struct {
	mu      sync.Mutex
	retry   []eventstore.RecordedEvent
	acked   map[uuid.UUID]int
	nacked  map[uuid.UUID]int
	joins   int
	pending chan eventstore.RecordedEvent
}

func newFakeGroup(ctx context.Context, t *testing.T, store eventstore.Store) *fakeGroup {
	g := &fakeGroup{acked: map[uuid.UUID]int{}, nacked: map[uuid.UUID]int{}, pending: make(chan eventstore.RecordedEvent)}
	go func() {
		err := store.SubscribeAll(ctx, 0, sagarouter.SharedFilter, func(ev eventstore.RecordedEvent) error {
			select {
			case g.pending <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil && ctx.Err() == nil {
			t.Errorf("fake group's feed: %v", err)
		}
	}()
	return g
}

func (g *fakeGroup) subscribe(ctx context.Context, handle func(eventstore.RecordedEvent) error) error {
	g.mu.Lock()
	g.joins++
	g.mu.Unlock()
	for {
		var ev eventstore.RecordedEvent
		g.mu.Lock()
		if n := len(g.retry); n > 0 {
			ev, g.retry = g.retry[0], g.retry[1:]
			g.mu.Unlock()
		} else {
			g.mu.Unlock()
			select {
			case ev = <-g.pending:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !strings.HasPrefix(ev.Stream, "person-") {
			return fmt.Errorf("the group delivered %s, which its filter leaves out", ev.Stream)
		}
		err := handle(ev)
		g.mu.Lock()
		if err != nil {
			g.nacked[ev.ID]++
			g.retry = append(g.retry, ev)
		} else {
			g.acked[ev.ID]++
		}
		g.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (g *fakeGroup) counts(id uuid.UUID) (acked, nacked int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.acked[id], g.nacked[id]
}

// TestSharedConsumers runs the router in shared mode (Config.Shared) on
// a fake of the server's group: births are decided, each acknowledged once;
// a poison event is dead-lettered under the shared consumer's name and
// then acknowledged, not given back; a trigger that meets an overloaded
// store is given back (nacked), delivered again and decided, never
// dead-lettered; and StopWorker is refused, the server being the one that
// rebalances.
func TestSharedConsumers(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g := newFakeGroup(ctx, t, e.store)

	m1, m2, slow := newID(), newID(), newID()
	for _, m := range []string{m1, m2, slow} {
		e.person(m, "1994-03-01")
	}
	// The events are in the log before the router starts: the group
	// delivers them from the start of the log, as the server does.
	first := e.birth(slow, newID(), "2026-02-20")
	bad := e.append("person-"+newID(), "birth.registered", map[string]any{"record_number": "770-bad"})
	b1 := e.birth(m1, newID(), "2026-02-20")
	b2 := e.birth(m2, newID(), "2026-02-25")
	var overloaded sync.Once
	e.reg.hook(func(r *hookedRegister) {
		r.before = func(_ context.Context, pos eventstore.Position) error {
			// The first decision on the first birth meets an overloaded
			// store; with no retries, the event must go back to the server.
			err := error(nil)
			if pos == first.Position {
				overloaded.Do(func() { err = fmt.Errorf("append: %w", eventstore.ErrOverloaded) })
			}
			return err
		}
	})
	r := e.startWith(sagarouter.Config{
		Checkpoints: watermillstore.NewMemoryCheckpoints(), Partitions: 2, Workers: 2, MaxRetries: -1,
		Triggers: e.catalogueTriggers, Shared: g.subscribe,
	})
	e.eventually("every trigger acknowledged", func() bool {
		for _, ev := range []eventstore.RecordedEvent{first, bad, b1, b2} {
			if acked, _ := g.counts(ev.ID); acked == 0 {
				return false
			}
		}
		return true
	})
	e.settle(r)

	for _, b := range []struct {
		ev     eventstore.RecordedEvent
		mother string
	}{{first, slow}, {b1, m1}, {b2, m2}} {
		st, _ := e.opened("birth-of-child", b.ev)
		checkBirthBundle(t, st, b.mother, b.ev)
		if acked, _ := g.counts(b.ev.ID); acked != 1 {
			t.Errorf("birth %s acknowledged %d times, want 1", b.ev.ID, acked)
		}
	}
	if acked, nacked := g.counts(first.ID); nacked != 1 || acked != 1 {
		t.Errorf("the trigger that met an overloaded store: %d nacks, %d acks; want 1 and 1", nacked, acked)
	}
	if acked, nacked := g.counts(bad.ID); nacked != 0 || acked != 1 {
		t.Errorf("the poison: %d nacks, %d acks; want 0 and 1 (dead-lettered, then acknowledged)", nacked, acked)
	}
	dls := e.deadLetters()
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want the poison's only: %+v", len(dls), dls)
	}
	x := dls[0].Metadata.Extra
	if x[watermillstore.OriginPrefix+watermillstore.MetadataEventID] != bad.ID.String() ||
		!strings.HasPrefix(x[middleware.PoisonedHandlerKey], "situation-triggers-shared-") {
		t.Errorf("dead letter of %s by %q: %v", bad.ID, x[middleware.PoisonedHandlerKey], x)
	}
	if err := r.StopWorker(0); !errors.Is(err, sagarouter.ErrLastWorker) {
		t.Errorf("StopWorker in shared mode: %v, want ErrLastWorker (the server rebalances)", err)
	}
	// The consumer whose event went back joins the group again.
	e.eventually("the consumer to join again after its nack", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.joins >= 3
	})
}
