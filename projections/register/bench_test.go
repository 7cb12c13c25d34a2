package register_test

import (
	"context"
	"encoding/json"
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
	"lifesituations/projections/register"
)

// benchEvents is how many registry events each benchmark folds.
const benchEvents = 50_000

func registered(b *testing.B, i int) (string, eventstore.Event) {
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i)))
	raw, err := json.Marshal(map[string]any{
		"person_id": id, "family_name": "Ivanov", "given_name": "Petr",
		"birth_date": fmt.Sprintf("%d-%02d-%02d", 1940+i%80, 1+i%12, 1+i%28), "sex": "M",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
	if err != nil {
		b.Fatal(err)
	}
	return "person-" + id.String(), eventstore.Event{ID: uuid.New(), Type: "person.registered", SchemaVersion: 1,
		Data: raw, Metadata: eventstore.Metadata{OccurredAt: start}}
}

// BenchmarkFold folds benchEvents person.registered events from an embedded
// store: catchup folds a log written beforehand, live follows appends made
// one event at a time by concurrent writers, as ingest does. events/s is
// the fold's rate.
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
	streams := make([]string, benchEvents)
	events := make([]eventstore.Event, benchEvents)
	for i := range events {
		streams[i], events[i] = registered(b, i)
	}
	appendAll := func(workers int) eventstore.Position {
		var mu sync.Mutex
		var last eventstore.Position
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range next {
					res, err := store.Append(ctx, streams[i], eventstore.NoStream, events[i])
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
		for i := range events {
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
	reg, err := register.OpenProjection(filepath.Join(b.TempDir(), "register.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	b.StartTimer()
	t, cpu0 := b.Elapsed(), cpuTime(b)
	wg.Go(func() {
		if err := reg.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			b.Error(err)
		}
	})
	if live {
		last = appendAll(32)
	}
	if err := reg.WaitFor(ctx, last); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(benchEvents), "cpu-µs/event")
	b.ReportMetric(float64(benchEvents)/(b.Elapsed()-t).Seconds(), "events/s")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
