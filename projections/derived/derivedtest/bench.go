// Package derivedtest holds what the read models' tests share: a benchmark
// of folding the log from an embedded store.
package derivedtest

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

// ReadModel is what BenchmarkFold drives.
type ReadModel interface {
	Run(ctx context.Context, store eventstore.Store) error
	WaitFor(ctx context.Context, pos eventstore.Position) error
	Close() error
}

// Stream is events appended to a new stream in one append.
type Stream struct {
	Name   string
	Events []eventstore.Event
}

// BenchmarkFold folds the events of streams (built untimed) from an
// embedded store whose clock stands at start, into the read model open
// opens in a fresh folder: catchup folds a log written beforehand, live
// follows appends made one stream at a time by concurrent writers. events/s
// is the fold's rate.
func BenchmarkFold(b *testing.B, start time.Time, streams func(b *testing.B) []Stream,
	open func(dir string) (ReadModel, error)) {
	for _, mode := range []string{"catchup", "live"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				benchFold(b, mode == "live", start, streams, open)
			}
		})
	}
}

func benchFold(b *testing.B, live bool, start time.Time, build func(b *testing.B) []Stream,
	open func(dir string) (ReadModel, error)) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := embedded.Open(b.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	streams := build(b)
	events := 0
	for _, s := range streams {
		events += len(s.Events)
	}
	appendAll := func(workers int) eventstore.Position {
		var mu sync.Mutex
		var last eventstore.Position
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range next {
					res, err := store.Append(ctx, streams[i].Name, eventstore.NoStream, streams[i].Events...)
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
		for i := range streams {
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
	rm, err := open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer rm.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	b.StartTimer()
	t, cpu0 := b.Elapsed(), cpuTime(b)
	wg.Go(func() {
		if err := rm.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			b.Error(err)
		}
	})
	if live {
		last = appendAll(32)
	}
	if err := rm.WaitFor(ctx, last); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(events), "cpu-µs/event")
	b.ReportMetric(float64(events)/(b.Elapsed()-t).Seconds(), "events/s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
