package sagarouter_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// TestStoppingAWorkerMidLoadLosesAndDoublesNoGrant runs 6 partitions on 3
// worker groups over the embedded store and durable (bolt) checkpoints,
// loads 300 births for 300 mothers, and stops one worker while the births
// are being decided (calls in progress included). Its partitions go to the
// two others, which resume from the checkpoints. Every birth ends with
// exactly one birth-of-child situation with its 7 steps decided once each:
// nothing lost, no grant doubled, and no two handlers ever ran one
// partition at once.
func TestStoppingAWorkerMidLoadLosesAndDoublesNoGrant(t *testing.T) {
	const births, partitions, workers, stopped = 300, 6, 3, 1
	e := newEnv(t)
	cp, err := watermillstore.OpenBoltCheckpoints(filepath.Join(e.dir, "checkpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Close() })

	mothers := make([]string, births)
	for i := range mothers {
		mothers[i] = newID()
		e.person(mothers[i], "1994-03-01")
	}
	// Each decision takes a little while, so that the stop finds calls in
	// progress and events delivered but not yet checkpointed.
	e.reg.hook(func(r *hookedRegister) {
		r.before = func(ctx context.Context, _ eventstore.Position) error {
			select {
			case <-time.After(time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	r := e.startWith(sagarouter.Config{
		Checkpoints: cp, Partitions: partitions, Workers: workers, Triggers: e.catalogueTriggers,
	})
	if got := r.Assignment(); !slices.Equal(got[stopped], []int{1, 4}) {
		t.Fatalf("assignment at start %v, want partitions 1 and 4 on worker %d", got, stopped)
	}

	triggers := make(chan eventstore.RecordedEvent, births)
	go func() {
		defer close(triggers)
		for _, m := range mothers {
			triggers <- e.birth(m, newID(), "2026-02-20")
		}
	}()
	var all []eventstore.RecordedEvent
	for ev := range triggers {
		all = append(all, ev)
		if len(all) == births/3 {
			// Mid-load: wait until the worker is deciding, then stop it.
			e.eventually("the sagas to be busy", func() bool { return len(e.situationEvents()) >= births/6 })
			if err := r.StopWorker(stopped); err != nil {
				t.Fatal(err)
			}
			got := r.Assignment()
			if len(got[stopped]) != 0 || len(got[0]) != 3 || len(got[2]) != 3 {
				t.Fatalf("assignment after stopping worker %d: %v, want its partitions spread over the others", stopped, got)
			}
		}
	}
	e.settle(r)

	_, attempts := e.reg.attempts(0)
	t.Logf("%d saga attempts for %d births (more: delivered again after the stop)", attempts, births)
	if n := r.Reassigned(); n != 2 {
		t.Errorf("%d partitions reassigned, want 2", n)
	}
	if n := r.Overlaps(); n != 0 {
		t.Errorf("a partition was handled by two handlers at once %d times", n)
	}
	if dl := e.deadLetters(); len(dl) != 0 {
		t.Errorf("dead letters: %v", dl)
	}
	// Count in the log itself: one situation.opened per birth, one
	// step_decided per step, and every birth's bundle complete.
	sits := e.situationEvents()
	opened, decided := 0, 0
	for stream, evs := range sits {
		steps := map[uuid.UUID]int{}
		for _, ev := range evs {
			switch ev.Type {
			case situation.TypeOpened:
				opened++
			case situation.TypeStepDecided:
				decided++
				var d situation.StepDecided
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					t.Fatal(err)
				}
				steps[d.StepID]++
			}
		}
		for step, n := range steps {
			if n != 1 {
				t.Errorf("%s: step %s decided %d times", stream, step, n)
			}
		}
	}
	if len(sits) != births || opened != births || decided != 7*births {
		t.Errorf("%d situation streams, %d situation.opened, %d step_decided; want %d, %d, %d",
			len(sits), opened, decided, births, births, 7*births)
	}
	for i, birth := range all {
		st, _ := e.opened("birth-of-child", birth)
		checkBirthBundle(t, st, mothers[i], birth)
	}
}

func TestStopWorkerRefusals(t *testing.T) {
	e := newEnv(t)
	r := e.startWith(sagarouter.Config{Checkpoints: watermillstore.NewMemoryCheckpoints(), Partitions: 2, Workers: 5})
	if n := r.Workers(); n != 2 {
		t.Errorf("%d workers for 2 partitions, want 2 (no idle worker)", n)
	}
	if err := r.StopWorker(2); err == nil {
		t.Error("stopped a worker that does not exist")
	}
	if err := r.StopWorker(0); err != nil {
		t.Fatal(err)
	}
	if err := r.StopWorker(0); err == nil {
		t.Error("stopped worker 0 twice")
	}
	if err := r.StopWorker(1); !errors.Is(err, sagarouter.ErrLastWorker) {
		t.Errorf("stopping the last worker: %v, want ErrLastWorker", err)
	}
	if got := r.Assignment(); len(got[0]) != 0 || !slices.Equal(got[1], []int{0, 1}) {
		t.Errorf("assignment %v, want both partitions on worker 1", got)
	}
	// The reassigned partition still decides.
	mother, child := newID(), newID()
	e.person(mother, "1994-03-01")
	birth := e.birth(mother, child, "2026-02-20")
	e.settle(r)
	st, _ := e.opened("birth-of-child", birth)
	checkBirthBundle(t, st, mother, birth)
}
