package cabinet_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// benchEvents is how many situation events each benchmark folds.
const benchEvents = 50_000

// situationEvents is one birth situation opened with its five steps.
func situationEvents(b *testing.B, i int) []eventstore.Event {
	bi := newBirth(fmt.Sprintf("bench-%d", i))
	recs := situation.Open(bi.opened(), bi.steps(), start)
	events := make([]eventstore.Event, len(recs))
	for j, r := range recs {
		data, err := r.Payload()
		if err != nil {
			b.Fatal(err)
		}
		events[j] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: start}}
	}
	return events
}

// BenchmarkFold folds benchEvents situation events from an embedded store:
// catchup folds a log written beforehand, live follows appends made one
// situation at a time by concurrent writers, as the core's sagas do.
// events/s is the fold's rate.
func BenchmarkFold(b *testing.B) {
	for _, mode := range []string{"catchup", "live"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				benchFold(b, mode == "live")
			}
		})
	}
}

func benchFold(b *testing.B, live bool) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := embedded.Open(b.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	per := len(situationEvents(b, 0))
	sits := benchEvents / per
	batches := make([][]eventstore.Event, sits)
	for i := range batches {
		batches[i] = situationEvents(b, i)
	}
	appendAll := func(workers int) eventstore.Position {
		var mu sync.Mutex
		var last eventstore.Position
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range next {
					events := batches[i]
					id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i)))
					res, err := store.Append(ctx, situation.Stream(id), eventstore.NoStream, events...)
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					last = max(last, res.Position)
					mu.Unlock()
				}
			})
		}
		for i := range batches {
			next <- i
		}
		close(next)
		wg.Wait()
		return last
	}
	var last eventstore.Position
	if !live {
		last = appendAll(8)
	}
	cab, err := cabinet.Open(filepath.Join(b.TempDir(), "cabinet.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer cab.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	b.StartTimer()
	t, cpu0 := b.Elapsed(), cpuTime(b)
	wg.Go(func() {
		if err := cab.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			b.Error(err)
		}
	})
	if live {
		last = appendAll(32)
	}
	if err := cab.WaitFor(ctx, last); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(sits*per), "cpu-µs/event")
	b.ReportMetric(float64(sits*per)/(b.Elapsed()-t).Seconds(), "events/s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
