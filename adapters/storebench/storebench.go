// Package storebench holds the event-store workloads that
// `lifesituations bench store` runs against any implementation of the port:
// batched appends, many concurrent single-event appenders (group commit) and
// reading the global log.
package storebench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// Result of one workload.
type Result struct {
	Name    string
	Events  int
	Elapsed time.Duration
}

// Rate is events per second.
func (r Result) Rate() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%-34s %9d events in %8s: %10.0f events/s", r.Name, r.Events, r.Elapsed.Round(time.Millisecond), r.Rate())
}

// payload is a realistic ~300-byte registry payload.
var payload = json.RawMessage(`{"person_id":"6f1c3c1e-0000-4000-8000-000000000001","family_name":"Ivanova","given_name":"Maria","birth_date":"1994-03-01","sex":"F","citizenship":"RU","region":"RU-MOW","time_zone":"Europe/Moscow","address":"Moscow, Tverskaya street 1, apartment 5, entrance 2, floor 3"}`)

func event(run string, i int) eventstore.Event {
	return eventstore.Event{
		ID:            uuid.NewSHA1(uuid.NameSpaceOID, []byte(run+"/"+strconv.Itoa(i))),
		Type:          "person.registered",
		SchemaVersion: 1,
		Data:          payload,
		Metadata:      eventstore.Metadata{Source: "urn:registry:population", OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
}

// AppendBatches appends n events in batches of size batch to streams of
// 10 events each (like persons' streams), one append at a time.
func AppendBatches(ctx context.Context, s eventstore.Store, n, batch int) (Result, error) {
	run := uuid.NewString()
	start := time.Now()
	for i := 0; i < n; i += batch {
		var appends []eventstore.StreamAppend
		for k := i; k < min(i+batch, n); k++ {
			stream := "person-" + run + "-" + strconv.Itoa(k/10)
			if len(appends) == 0 || appends[len(appends)-1].Stream != stream {
				appends = append(appends, eventstore.StreamAppend{Stream: stream, Expected: eventstore.Any})
			}
			last := &appends[len(appends)-1]
			last.Events = append(last.Events, event(run, k))
		}
		if _, err := s.AppendMany(ctx, appends); err != nil {
			return Result{}, fmt.Errorf("append batch at %d: %w", i, err)
		}
	}
	return Result{Name: fmt.Sprintf("append, batches of %d", batch), Events: n, Elapsed: time.Since(start)}, nil
}

// ConcurrentSingles has clients goroutines each append single events to
// their own streams until n events are stored.
func ConcurrentSingles(ctx context.Context, s eventstore.Store, n, clients int) (Result, error) {
	run := uuid.NewString()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				stream := "person-" + run + "-" + strconv.Itoa(c)
				if _, err := s.Append(ctx, stream, eventstore.Any, event(run, i)); err != nil {
					errs <- fmt.Errorf("single append %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	return Result{Name: fmt.Sprintf("append, %d concurrent single-event appenders", clients), Events: n, Elapsed: time.Since(start)}, nil
}

// ReadAll reads the whole global log in pages.
func ReadAll(ctx context.Context, s eventstore.Store, page int) (Result, error) {
	start := time.Now()
	var after eventstore.Position
	n := 0
	for {
		evs, err := s.ReadAll(ctx, after, eventstore.Filter{}, page)
		if err != nil {
			return Result{}, fmt.Errorf("read all after %d: %w", after, err)
		}
		if len(evs) == 0 {
			break
		}
		n += len(evs)
		after = evs[len(evs)-1].Position
	}
	return Result{Name: "read the global log", Events: n, Elapsed: time.Since(start)}, nil
}

// Subscribe catches a subscription up with the whole log.
func Subscribe(ctx context.Context, s eventstore.Store) (Result, error) {
	last, err := s.LastPosition(ctx)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	start := time.Now()
	done := fmt.Errorf("caught up")
	err = s.SubscribeAll(ctx, 0, eventstore.Filter{}, func(e eventstore.RecordedEvent) error {
		n++
		if e.Position >= last {
			return done
		}
		return nil
	})
	if err != done {
		return Result{}, fmt.Errorf("subscription: %w", err)
	}
	return Result{Name: "subscription catch-up", Events: n, Elapsed: time.Since(start)}, nil
}
