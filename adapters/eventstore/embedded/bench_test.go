package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// benchEvent is a realistic registry event: a birth with ~300 bytes of JSON.
func benchEvent(i int) eventstore.Event {
	data := fmt.Appendf(nil, `{"child":{"person_id":%q,"given_name":"Maria","family_name":"Ivanova","sex":"F",`+
		`"born_on":"2025-03-%02d","place":{"country":"LV","municipality":"Riga","hospital":"Riga Maternity Hospital"}},`+
		`"mother_id":%q,"father_id":%q,"act":{"number":"LV-2025-%07d","office":"Riga Civil Registry Office"}}`,
		uuid.NewString(), 1+i%28, uuid.NewString(), uuid.NewString(), i)
	return eventstore.Event{
		ID:            uuid.New(),
		Type:          "person.born",
		SchemaVersion: 1,
		Data:          data,
		Metadata: eventstore.Metadata{
			OccurredAt:    time.Date(2025, 3, 1+i%28, 8, 0, 0, 0, time.UTC),
			Source:        "civil-registry",
			SourceEventID: fmt.Sprintf("act-%d", i),
			CorrelationID: uuid.NewString(),
		},
	}
}

func benchEvents(n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	return evs
}

func reportRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

func reportStats(b *testing.B, s *Store) {
	st := s.Stats()
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Events)/float64(st.Commits), "events/commit")
	}
}

func BenchmarkAppendBatch(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			s := openStore(b, b.TempDir())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				evs := benchEvents(size)
				b.StartTimer()
				if _, err := s.Append(context.Background(), fmt.Sprintf("person-%d", i), eventstore.NoStream, evs...); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, b.N*size)
		})
	}
}

// BenchmarkAppendConcurrent has 64 appenders each appending single events:
// what group commit is for.
func BenchmarkAppendConcurrent(b *testing.B) {
	const appenders = 64
	s := openStore(b, b.TempDir())
	evs := benchEvents(b.N)
	b.ResetTimer()
	err := appendConcurrently(s, appenders, evs)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	reportRate(b, b.N)
	reportStats(b, s)
}

// appendConcurrently appends evs one by one from appenders goroutines,
// each to its own stream, and returns the first error.
func appendConcurrently(s *Store, appenders int, evs []eventstore.Event) error {
	var next atomic.Int64
	errs := make(chan error, appenders)
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			stream := fmt.Sprintf("person-%d", g)
			for {
				i := next.Add(1) - 1
				if i >= int64(len(evs)) {
					return
				}
				if _, err := s.Append(context.Background(), stream, eventstore.Any, evs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

const readFixtureEvents = 200_000

var readFixture struct {
	once sync.Once
	dir  string
	err  error
}

// readStore opens a store holding readFixtureEvents events in 20,000
// person streams, created once per test binary.
func readStore(b *testing.B) *Store {
	readFixture.once.Do(func() {
		readFixture.dir, readFixture.err = os.MkdirTemp("", "embedded-bench-")
		if readFixture.err != nil {
			return
		}
		s, err := Open(readFixture.dir)
		if err != nil {
			readFixture.err = err
			return
		}
		defer s.Close()
		for batch := range readFixtureEvents / 1000 {
			appends := make([]eventstore.StreamAppend, 100)
			for i := range appends {
				appends[i] = eventstore.StreamAppend{
					Stream:   fmt.Sprintf("person-%d", (batch*100+i)%20_000),
					Expected: eventstore.Any,
					Events:   benchEvents(10),
				}
			}
			if _, err := s.AppendMany(context.Background(), appends); err != nil {
				readFixture.err = err
				return
			}
		}
	})
	if readFixture.err != nil {
		b.Fatalf("read fixture: %v", readFixture.err)
	}
	return openStore(b, readFixture.dir)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if readFixture.dir != "" {
		_ = os.RemoveAll(readFixture.dir)
	}
	os.Exit(code)
}

// BenchmarkReadAll reads the whole log in pages of 10,000 events.
func BenchmarkReadAll(b *testing.B) {
	s := readStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for after := eventstore.Position(0); ; {
			page, err := s.ReadAll(context.Background(), after, eventstore.Filter{}, 10_000)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			n += len(page)
			after = page[len(page)-1].Position
		}
		if n != readFixtureEvents {
			b.Fatalf("read %d events, want %d", n, readFixtureEvents)
		}
	}
	reportRate(b, b.N*readFixtureEvents)
}

var errCaughtUp = errors.New("caught up")

// BenchmarkSubscribeCatchUp delivers the whole log to a subscription.
func BenchmarkSubscribeCatchUp(b *testing.B) {
	s := readStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := s.SubscribeAll(context.Background(), 0, eventstore.Filter{}, func(ev eventstore.RecordedEvent) error {
			n++
			if ev.Position == readFixtureEvents {
				return errCaughtUp
			}
			return nil
		})
		if !errors.Is(err, errCaughtUp) || n != readFixtureEvents {
			b.Fatalf("subscription delivered %d events and returned %v", n, err)
		}
	}
	reportRate(b, b.N*readFixtureEvents)
}

// BenchmarkVerifyChain checks the chain and the indexes of the whole log.
func BenchmarkVerifyChain(b *testing.B) {
	s := readStore(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		breaks, err := s.VerifyChain(context.Background(), nil)
		if err != nil || len(breaks) > 0 {
			b.Fatalf("verify: %v, %v", breaks, err)
		}
	}
	reportRate(b, b.N*readFixtureEvents)
}
