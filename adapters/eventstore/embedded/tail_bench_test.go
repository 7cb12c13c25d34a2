package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lifesituations/domain/eventstore"
)

// BenchmarkSubscribeTail has several subscribers following the log at its
// tail (as the projections and saga partitions of `serve` do) while 32
// appenders append b.N single events. It reports the events delivered per
// second to all subscribers together and the process's CPU time per
// appended event; subs=0 is the appenders' own cost.
func BenchmarkSubscribeTail(b *testing.B) {
	for _, subs := range []int{0, 8} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			benchmarkTail(b, subs)
		})
	}
}

func benchmarkTail(b *testing.B, subs int) {
	const appenders = 32
	s := openStore(b, b.TempDir())
	evs := benchEvents(b.N)
	total := eventstore.Position(b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var delivered atomic.Int64
	var subsDone sync.WaitGroup
	subErrs := make(chan error, subs)
	for range subs {
		subsDone.Go(func() {
			err := s.SubscribeAll(ctx, 0, eventstore.Filter{}, func(ev eventstore.RecordedEvent) error {
				delivered.Add(1)
				if ev.Position == total {
					return errCaughtUp
				}
				return nil
			})
			if !errors.Is(err, errCaughtUp) {
				subErrs <- err
			}
		})
	}

	cpu0 := processCPU(b)
	b.ResetTimer()
	err := appendConcurrently(s, appenders, evs)
	subsDone.Wait()
	b.StopTimer()
	cpu := processCPU(b) - cpu0
	close(subErrs)
	if err := errors.Join(err, <-subErrs); err != nil {
		b.Fatal(err)
	}
	if want := int64(subs) * int64(b.N); delivered.Load() != want {
		b.Fatalf("delivered %d events, want %d", delivered.Load(), want)
	}
	b.ReportMetric(float64(delivered.Load())/b.Elapsed().Seconds(), "delivered/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	reportStats(b, s)
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
