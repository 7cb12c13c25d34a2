package quality

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	mother  = "6f1c3c1e-0000-4000-8000-000000000001"
	father  = "6f1c3c1e-0000-4000-8000-000000000002"
	child   = "6f1c3c1e-0000-4000-8000-0000000000c1"
	mother2 = "6f1c3c1e-0000-4000-8000-000000000003"
	child2  = "6f1c3c1e-0000-4000-8000-0000000000c3"
)

type fixture struct {
	t     *testing.T
	clock *clock.Manual
	store eventstore.Store
	proj  *Projection
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewManual(start)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, clock: clk, store: store, proj: New(store)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := f.proj.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

func (f *fixture) append(sit uuid.UUID, expected eventstore.ExpectedRevision, recs []situation.Record) {
	f.t.Helper()
	events := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			f.t.Fatal(err)
		}
		events[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: f.clock.Now()}}
	}
	if _, err := f.store.Append(context.Background(), situation.Stream(sit), expected, events...); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) command(sit uuid.UUID, cmd func(*situation.State, time.Time) ([]situation.Record, error)) {
	f.t.Helper()
	recorded, err := f.store.ReadStream(context.Background(), situation.Stream(sit), 0, eventstore.Forwards, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var st situation.State
	for _, e := range recorded {
		if err := st.Apply(e.Type, e.Data); err != nil {
			f.t.Fatal(err)
		}
	}
	recs, err := cmd(&st, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	f.append(sit, eventstore.Exact(recorded[len(recorded)-1].Revision), recs)
}

func (f *fixture) at(d time.Duration) {
	f.t.Helper()
	if err := f.clock.Set(start.Add(d)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) services() map[string]Service {
	f.t.Helper()
	last, err := f.store.LastPosition(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a guard against a hang, not a measurement
	defer cancel()
	if err := f.proj.WaitFor(ctx, last); err != nil {
		f.t.Fatal(err)
	}
	list, pos := f.proj.Services()
	if pos < last {
		f.t.Fatalf("figures at %d, want %d", pos, last)
	}
	out := map[string]Service{}
	for i, s := range list {
		if i > 0 && list[i-1].Service >= s.Service {
			f.t.Errorf("services out of order: %s then %s", list[i-1].Service, s.Service)
		}
		out[s.Service] = s
	}
	return out
}

func step(service string, outcome catalogue.Outcome, applicant, beneficiary string) catalogue.StepDecision {
	d := catalogue.StepDecision{Key: service, Step: service, Service: service, Outcome: outcome,
		Title: catalogue.Text{RU: service, EN: service}, Applicant: applicant, Beneficiary: beneficiary}
	if outcome == catalogue.OutcomeGranted || outcome == catalogue.OutcomeDrafted {
		d.Registry = "registry-of-" + service
	}
	return d
}

func opened(id uuid.UUID, person, zone, eventDate string, participants ...string) situation.Opened {
	return situation.Opened{
		SituationID: id, Kind: "birth-of-child", PersonID: person, Participants: participants,
		Trigger:  situation.Trigger{EventID: uuid.New(), Type: "birth.registered", EventDate: eventDate},
		Facts:    map[string]catalogue.Person{person: {ID: person, TimeZone: zone}},
		OpenedAt: start,
	}
}

// The figures of a small history, counted by hand.
func TestFiguresMatchAHandCount(t *testing.T) {
	f := newFixture(t)
	a := situation.ID("birth-of-child", uuid.New())
	b := situation.ID("birth-of-child", uuid.New())
	// A: the day of the birth starts at 2026-02-20T00:00+03:00, 9 days
	// and 12 hours (820,800 s) before the decisions at start.
	f.append(a, eventstore.NoStream, situation.Open(opened(a, mother, "Europe/Moscow", "2026-02-20", father, child), []catalogue.StepDecision{
		step("birth-certificate", catalogue.OutcomeGranted, mother, child),
		step("maternity-capital", catalogue.OutcomeRejected, mother, mother),
		step("child-allowance", catalogue.OutcomeDrafted, mother, child),
		step("residence-registration", catalogue.OutcomeDrafted, mother, child),
		func() catalogue.StepDecision {
			d := step("kindergarten-queue", catalogue.OutcomeGranted, mother, child)
			d.OptOut = true
			return d
		}(),
	}, start))
	// B: a person with no known time zone (UTC); 4 days 9 hours (378,000 s).
	f.append(b, eventstore.NoStream, situation.Open(opened(b, mother2, "", "2026-02-25", child2), []catalogue.StepDecision{
		step("birth-certificate", catalogue.OutcomeGranted, mother2, child2),
		step("child-allowance", catalogue.OutcomeDrafted, mother2, child2),
		step("residence-registration", catalogue.OutcomeDrafted, mother2, child2),
	}, start))

	residenceA, allowanceA := situation.StepID(a, "residence-registration"), situation.StepID(a, "child-allowance")
	allowanceB := situation.StepID(b, "child-allowance")
	f.at(time.Hour)
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Confirm(residenceA, nil, mother, now)
	})
	f.command(b, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Decline(allowanceB, "", mother2, now)
	})
	// Granted on the application two hours after the decisions: 828,000 s.
	f.at(2 * time.Hour)
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.AgencyDecide(residenceA, catalogue.OutcomeGranted, nil, now)
	})
	f.command(b, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawDraftsOf(mother2, situation.WithdrawOrder{Reason: situation.ReasonDied}, now), nil
	})
	f.at(3 * time.Hour)
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Expire(allowanceA, nil, now), nil
	})
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawGrant(situation.GrantID(situation.StepID(a, "kindergarten-queue")), mother, now)
	})
	// The mother rates 4, then 2 (which replaces it); the father rates 5.
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(4, "", mother, now)
	})
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(2, "slow", mother, now)
	})
	f.command(a, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(5, "", father, now)
	})

	got := f.services()
	if len(got) != 5 {
		t.Fatalf("%d services, want 5: %+v", len(got), got)
	}
	want := map[string]Service{
		"birth-certificate": {Volume: 2, Results: 2, MedianTimeToResult: ptr(378000), P90TimeToResult: ptr(820800),
			GrantedWithoutApp: ptr(1), RejectionRate: ptr(0), MeanRating: ptr(3.5), Ratings: 2,
			Outcomes: Outcomes{GrantedAutomatically: 2}},
		"maternity-capital": {Volume: 1, Results: 1, MedianTimeToResult: ptr(820800), P90TimeToResult: ptr(820800),
			GrantedWithoutApp: ptr(0), RejectionRate: ptr(1), MeanRating: ptr(3.5), Ratings: 2,
			Outcomes: Outcomes{Rejected: 1}},
		"child-allowance": {Volume: 2, GrantedWithoutApp: ptr(0), DraftConfirmation: ptr(0), MeanRating: ptr(3.5), Ratings: 2,
			Drafts: Drafts{Created: 2, Declined: 1, Expired: 1}},
		"residence-registration": {Volume: 2, Results: 1, MedianTimeToResult: ptr(828000), P90TimeToResult: ptr(828000),
			GrantedWithoutApp: ptr(0), RejectionRate: ptr(0), DraftConfirmation: ptr(1), MeanRating: ptr(3.5), Ratings: 2,
			Outcomes: Outcomes{GrantedOnApplication: 1}, Drafts: Drafts{Created: 2, Confirmed: 1, Withdrawn: 1}},
		"kindergarten-queue": {Volume: 1, Results: 1, MedianTimeToResult: ptr(820800), P90TimeToResult: ptr(820800),
			GrantedWithoutApp: ptr(1), RejectionRate: ptr(0), MeanRating: ptr(3.5), Ratings: 2,
			Outcomes: Outcomes{GrantedAutomatically: 1}, GrantsWithdrawn: 1},
	}
	for code, w := range want {
		g := got[code]
		if g.Title.EN != code {
			t.Errorf("%s: title %+v", code, g.Title)
		}
		w.Service, w.Title, w.SumTimeToResult = code, g.Title, g.SumTimeToResult
		compare(t, code, g, w)
	}
	if s := got["birth-certificate"].SumTimeToResult; s != 378000+820800 {
		t.Errorf("sum of times to result = %v", s)
	}
}

func compare(t *testing.T, code string, got, want Service) {
	t.Helper()
	num := func(name string, g, w *float64) {
		switch {
		case g == nil && w == nil:
		case g == nil || w == nil:
			t.Errorf("%s %s = %v, want %v", code, name, show(g), show(w))
		case *g != *w:
			t.Errorf("%s %s = %v, want %v", code, name, *g, *w)
		}
	}
	num("median", got.MedianTimeToResult, want.MedianTimeToResult)
	num("p90", got.P90TimeToResult, want.P90TimeToResult)
	num("granted without application", got.GrantedWithoutApp, want.GrantedWithoutApp)
	num("rejection rate", got.RejectionRate, want.RejectionRate)
	num("draft confirmation rate", got.DraftConfirmation, want.DraftConfirmation)
	num("mean rating", got.MeanRating, want.MeanRating)
	if got.Volume != want.Volume || got.Results != want.Results || got.Ratings != want.Ratings ||
		got.Outcomes != want.Outcomes || got.Drafts != want.Drafts || got.GrantsWithdrawn != want.GrantsWithdrawn {
		t.Errorf("%s counts\n got volume %d results %d ratings %d %+v %+v withdrawn %d\nwant volume %d results %d ratings %d %+v %+v withdrawn %d",
			code, got.Volume, got.Results, got.Ratings, got.Outcomes, got.Drafts, got.GrantsWithdrawn,
			want.Volume, want.Results, want.Ratings, want.Outcomes, want.Drafts, want.GrantsWithdrawn)
	}
}

func show(v *float64) any {
	if v == nil {
		return "null"
	}
	return *v
}

// A situation whose fold left the cache is folded again from its stream,
// and counts its events once.
func TestRefoldsEvictedSituationsFromTheirStreams(t *testing.T) {
	old := maxCached
	maxCached = 1
	t.Cleanup(func() { maxCached = old })
	f := newFixture(t)
	ids := []uuid.UUID{situation.ID("birth-of-child", uuid.New()), situation.ID("birth-of-child", uuid.New())}
	for _, id := range ids {
		f.append(id, eventstore.NoStream, situation.Open(opened(id, mother, "", "2026-03-01", child), []catalogue.StepDecision{
			step("child-allowance", catalogue.OutcomeDrafted, mother, child),
		}, start))
	}
	f.at(time.Hour)
	for _, id := range ids {
		f.command(id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Confirm(situation.StepID(id, "child-allowance"), nil, mother, now)
		})
	}
	f.at(2 * time.Hour)
	for _, id := range ids {
		f.command(id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.AgencyDecide(situation.StepID(id, "child-allowance"), catalogue.OutcomeRejected, nil, now)
		})
		f.command(id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Rate(1, "", mother, now)
		})
	}
	s := f.services()["child-allowance"]
	// 9 hours and 2 hours from the start of 1 March (UTC) to the refusal.
	compare(t, "child-allowance", s, Service{Volume: 2, Results: 2, MedianTimeToResult: ptr(11 * 3600), P90TimeToResult: ptr(11 * 3600),
		GrantedWithoutApp: ptr(0), RejectionRate: ptr(1), DraftConfirmation: ptr(1), MeanRating: ptr(1), Ratings: 2,
		Outcomes: Outcomes{Rejected: 2}, Drafts: Drafts{Created: 2, Confirmed: 2}})
}

func TestNearestRank(t *testing.T) {
	tl := &tally{minutes: map[int64]int{}}
	for _, m := range []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} {
		tl.minutes[m]++
		tl.results++
	}
	tl.minutes[10]++ // 11 results: 1..10 and 10 again
	tl.results++
	times := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := tl.nearestRank(times, 50); got != 6 {
		t.Errorf("median of 11 = %d, want the 6th, 6", got)
	}
	if got := tl.nearestRank(times, 90); got != 10 {
		t.Errorf("p90 of 11 = %d, want the 10th, 10", got)
	}
}

func TestWaitForFailsOnceStopped(t *testing.T) {
	clk := clock.NewManual(start)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p := New(store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("a stop is clean: %v", err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second) // the error is prompt; the guard only stops a hang
	defer wcancel()
	if err := p.WaitFor(wctx, 10); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on a stopped model: %v, want a prompt error", err)
	}
}
