package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

const appenders = 64

// runAppenders runs fn(i) in 64 goroutines released together and returns
// their errors.
func runAppenders(fn func(i int) error) []error {
	errs := make([]error, appenders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range appenders {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// wantWholeLog checks that the log after base holds exactly the given ids,
// each once, at consecutive positions.
func wantWholeLog(t *testing.T, f *fixture, ids map[uuid.UUID]bool) []eventstore.RecordedEvent {
	t.Helper()
	all := f.readAll(f.base, eventstore.Filter{})
	wantConsecutive(t, "log", all, f.base+1)
	seen := map[uuid.UUID]bool{}
	for _, ev := range all {
		if !ids[ev.ID] || seen[ev.ID] {
			t.Fatalf("log holds %s at %d: unexpected or repeated", ev.ID, ev.Position)
		}
		seen[ev.ID] = true
	}
	if len(seen) != len(ids) {
		t.Fatalf("log holds %d of the %d events appended", len(seen), len(ids))
	}
	return all
}

func testConcurrentDistinctStreams(t *testing.T, f *fixture) {
	const perAppender = 8
	appended := make([][]eventstore.Event, appenders)
	results := make([][]eventstore.AppendResult, appenders)
	errs := runAppenders(func(i int) error {
		s := f.stream(fmt.Sprintf("person-%d", i))
		for n := range perAppender {
			exp := eventstore.Exact(eventstore.Revision(n - 1))
			if n == 0 {
				exp = eventstore.NoStream
			}
			ev := event("person.moved", n)
			res, err := f.store.Append(f.ctx, s, exp, ev)
			if err != nil {
				return fmt.Errorf("%s append %d: %w", s, n, err)
			}
			appended[i] = append(appended[i], ev)
			results[i] = append(results[i], res)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	ids := map[uuid.UUID]bool{}
	for _, evs := range appended {
		for _, ev := range evs {
			ids[ev.ID] = true
		}
	}
	positions := map[uuid.UUID]eventstore.Position{}
	for _, ev := range wantWholeLog(t, f, ids) {
		positions[ev.ID] = ev.Position
	}
	for i, evs := range appended {
		s := f.stream(fmt.Sprintf("person-%d", i))
		got := f.readStream(s, 0, eventstore.Forwards, 100)
		wantIDs(t, s, got, eventIDs(evs))
		wantIncreasing(t, s, got)
		for n, res := range results[i] {
			if res.NextRevision != eventstore.Revision(n) || res.Position != positions[evs[n].ID] {
				t.Fatalf("%s append %d: result %+v, log has the event at %d", s, n, res, positions[evs[n].ID])
			}
		}
	}
}

func testConcurrentExactRace(t *testing.T, f *fixture) {
	const rounds = 6
	s := f.stream("situation-1")
	var winners []uuid.UUID
	for round := range rounds {
		exp := eventstore.Exact(eventstore.Revision(round - 1))
		if round == 0 {
			exp = eventstore.NoStream
		}
		evs := events("situation.step", appenders)
		errs := runAppenders(func(i int) error {
			_, err := f.store.Append(f.ctx, s, exp, evs[i])
			return err
		})
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("round %d: appenders %d and %d both won", round, won, i)
			case err == nil:
				won = i
			case !errors.Is(err, eventstore.ErrWrongExpectedRevision):
				t.Fatalf("round %d: appender %d: err = %v, want ErrWrongExpectedRevision", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no appender won", round)
		}
		winners = append(winners, evs[won].ID)
	}
	wantIDs(t, "stream", f.readStream(s, 0, eventstore.Forwards, 100), winners)
	ids := map[uuid.UUID]bool{}
	for _, id := range winners {
		ids[id] = true
	}
	wantWholeLog(t, f, ids)
}

func testConcurrentSameStreamAny(t *testing.T, f *fixture) {
	const perAppender = 4
	s := f.stream("calendar")
	appended := make([][]eventstore.Event, appenders)
	errs := runAppenders(func(i int) error {
		for n := range perAppender {
			ev := event("calendar.swept", n)
			if _, err := f.store.Append(f.ctx, s, eventstore.Any, ev); err != nil {
				return fmt.Errorf("appender %d append %d: %w", i, n, err)
			}
			appended[i] = append(appended[i], ev)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ids := map[uuid.UUID]bool{}
	for _, evs := range appended {
		for _, ev := range evs {
			ids[ev.ID] = true
		}
	}
	all := wantWholeLog(t, f, ids)
	got := f.readStream(s, 0, eventstore.Forwards, appenders*perAppender+1)
	if len(got) != len(all) {
		t.Fatalf("stream holds %d events, log %d", len(got), len(all))
	}
	revs := map[uuid.UUID]eventstore.Revision{}
	for i, ev := range got {
		if ev.Revision != eventstore.Revision(i) || ev.ID != all[i].ID {
			t.Fatalf("stream event %d: revision %d id %s, log has %s", i, ev.Revision, ev.ID, all[i].ID)
		}
		revs[ev.ID] = ev.Revision
	}
	// One appender's events keep the order it appended them in.
	for i, evs := range appended {
		for n := 1; n < len(evs); n++ {
			if revs[evs[n].ID] <= revs[evs[n-1].ID] {
				t.Fatalf("appender %d: event %d at revision %d, before it %d", i, n, revs[evs[n].ID], revs[evs[n-1].ID])
			}
		}
	}
}
