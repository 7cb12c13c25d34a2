// Package quality is the read model of service quality: per service, how
// many steps were decided, how they ended, how long it took from the life
// event to the result, how many drafts the citizens confirmed, and how
// they rated the situations, folded from the situation streams of the
// global log (CONTRACT.md section 4, GET /v1/quality).
//
// Definitions (docs/api.md says the same to operators):
//
//   - volume: the steps decided for the service (one per service,
//     applicant and beneficiary in a situation, follow-ups and deadline
//     notices included).
//   - result: a step's first granted, rejected or notified outcome, at the
//     decision (automatic) or at the agency's decision on the application.
//     Declined, expired and withdrawn drafts have no result.
//   - time to result: from the start of the life event's day (the
//     trigger's event date, such as the birth date or the birthday, at
//     00:00 in the time zone of the situation's person, UTC when unknown)
//     to the result's instant, kept to the minute. The median and the 90th
//     percentile are nearest-rank: the smallest kept time that at least
//     half (nine tenths) of the results do not exceed.
//   - granted without application: the share of the volume granted at the
//     decision, with no draft to confirm.
//   - rejection rate: rejected / (granted + rejected), whoever decided.
//   - draft confirmation rate: confirmed / (confirmed + declined +
//     expired): of the drafts the applicant could finish, the share they
//     confirmed. A draft withdrawn by a later event (the applicant died)
//     counts in neither.
//   - rating: a citizen rates a whole situation; the rating counts for
//     every service the situation had when it was given, and a citizen's
//     later rating of the same situation replaces their earlier one.
//
// The model lives in memory and is rebuilt from the log at each start. Its
// size is bounded by the services and the span of times to result (one
// counter per minute), not by the number of events: what it keeps of each
// situation is a cache, refilled from the situation's stream when needed.
package quality

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/follow"
)

// maxCached bounds the situations whose fold is kept between their events;
// a situation evicted is folded again from its stream when its next event
// comes.
var maxCached = 4096

// Projection is the quality read model. Queries are safe for concurrent use
// with the fold.
type Projection struct {
	*follow.Log
	store eventstore.Store

	mu       sync.Mutex
	services map[string]*tally
	// Owned by the fold (Run's goroutine).
	cache     map[uuid.UUID]*folded
	locations map[string]*time.Location
}

// New returns an empty model; Run folds the log of store into it.
func New(store eventstore.Store) *Projection {
	p := &Projection{store: store, services: map[string]*tally{},
		cache: map[uuid.UUID]*folded{}, locations: map[string]*time.Location{}}
	p.Log = follow.New("quality projection", p.apply)
	return p
}

// Run folds the log from its start, then follows it, until ctx is done
// (nil) or folding fails.
func (p *Projection) Run(ctx context.Context) error { return p.Log.Run(ctx, p.store) }

// tally is one service's counts.
type tally struct {
	title                                         catalogue.Text
	volume                                        int
	grantedAuto, grantedOnApp, rejected, notified int
	created, confirmed, declined, expired         int
	withdrawnDrafts, withdrawnGrants              int
	// minutes counts the results by their time to result, in whole minutes.
	minutes    map[int64]int
	results    int
	ratingSum  int
	ratingsNow int
}

// folded is what the fold keeps of one situation between its events.
type folded struct {
	rev   eventstore.Revision // the last revision folded
	state situation.State
	start time.Time // the start of the life event's day; zero when unknown
	// ratings are each rater's rating in force and the services it counts for.
	ratings map[string]rating
}

type rating struct {
	score    int
	services []string
}

func (p *Projection) apply(e eventstore.RecordedEvent) error {
	if !strings.HasPrefix(e.Stream, situation.StreamPrefix) {
		return nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(e.Stream, situation.StreamPrefix))
	if err != nil {
		return fmt.Errorf("stream %s is not named by a situation id: %w", e.Stream, err)
	}
	f, err := p.load(id, e)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fold(f, e, true)
}

// load returns the situation folded up to the event before e: from the
// cache, or read again from its stream.
func (p *Projection) load(id uuid.UUID, e eventstore.RecordedEvent) (*folded, error) {
	if f, ok := p.cache[id]; ok && f.rev+1 == e.Revision {
		return f, nil
	}
	f := &folded{ratings: map[string]rating{}}
	if e.Revision > 0 {
		earlier, err := p.store.ReadStream(context.Background(), e.Stream, 0, eventstore.Forwards, int(e.Revision))
		if err != nil {
			return nil, fmt.Errorf("read %s before revision %d: %w", e.Stream, e.Revision, err)
		}
		if n := len(earlier); n == 0 || earlier[n-1].Revision+1 != e.Revision {
			return nil, fmt.Errorf("read %s before revision %d: got %d events", e.Stream, e.Revision, n)
		}
		for _, ev := range earlier {
			if err := p.fold(f, ev, false); err != nil {
				return nil, err
			}
		}
	}
	if len(p.cache) >= maxCached {
		clear(p.cache)
	}
	p.cache[id] = f
	return f, nil
}

// fold applies one event to the situation and, when count, counts what it
// changed.
func (p *Projection) fold(f *folded, e eventstore.RecordedEvent, count bool) error {
	before := make(map[uuid.UUID]situation.Outcome, len(f.state.Steps))
	for _, st := range f.state.Steps {
		before[st.ID] = st.Outcome
	}
	if err := f.state.Apply(e.Type, e.Data); err != nil {
		return err
	}
	f.rev = e.Revision
	switch e.Type {
	case situation.TypeOpened:
		f.start = p.startOf(f.state.Opened)
	case situation.TypeRated:
		var r situation.Rated
		if err := json.Unmarshal(e.Data, &r); err != nil {
			return fmt.Errorf("decode %s: %w", e.Type, err)
		}
		now := rating{score: r.Score, services: servicesOf(&f.state)}
		prev, had := f.ratings[r.By]
		f.ratings[r.By] = now
		if count {
			if had {
				p.rate(prev, -1)
			}
			p.rate(now, 1)
		}
	}
	if !count {
		return nil
	}
	for _, st := range f.state.Steps {
		prev, known := before[st.ID]
		switch {
		case !known:
			p.decided(f, st)
		case prev != st.Outcome:
			p.changed(f, st)
		}
	}
	return nil
}

// decided counts a new step.
func (p *Projection) decided(f *folded, st *situation.Step) {
	t := p.tally(st.Decision)
	t.volume++
	switch st.Outcome {
	case catalogue.OutcomeGranted:
		t.grantedAuto++
		t.result(f.start, st.DecidedAt)
	case catalogue.OutcomeRejected:
		t.rejected++
		t.result(f.start, st.DecidedAt)
	case catalogue.OutcomeNotified:
		t.notified++
		t.result(f.start, st.DecidedAt)
	case catalogue.OutcomeDrafted:
		t.created++
	}
}

// changed counts a step's new outcome.
func (p *Projection) changed(f *folded, st *situation.Step) {
	t := p.tally(st.Decision)
	switch st.Outcome {
	case situation.OutcomeSubmitted:
		t.confirmed++
	case situation.OutcomeDeclined:
		t.declined++
	case situation.OutcomeExpired:
		t.expired++
	case situation.OutcomeWithdrawn:
		if st.Grant != nil && st.Grant.Withdrawn {
			t.withdrawnGrants++
		} else {
			t.withdrawnDrafts++
		}
	case catalogue.OutcomeGranted:
		t.grantedOnApp++
		t.result(f.start, st.UpdatedAt)
	case catalogue.OutcomeRejected:
		t.rejected++
		t.result(f.start, st.UpdatedAt)
	}
}

func (p *Projection) tally(d catalogue.StepDecision) *tally {
	t, ok := p.services[d.Service]
	if !ok {
		t = &tally{minutes: map[int64]int{}}
		p.services[d.Service] = t
	}
	if d.Title.RU != "" || d.Title.EN != "" {
		t.title = d.Title
	}
	return t
}

// result counts a result at the instant at.
func (t *tally) result(start, at time.Time) {
	if start.IsZero() {
		return
	}
	t.minutes[int64(max(at.Sub(start), 0)/time.Minute)]++
	t.results++
}

func (p *Projection) rate(r rating, sign int) {
	for _, s := range r.services {
		t, ok := p.services[s]
		if !ok {
			continue
		}
		t.ratingSum += sign * r.score
		t.ratingsNow += sign
	}
}

// servicesOf are the services of the situation's steps, once each.
func servicesOf(st *situation.State) []string {
	var out []string
	for _, s := range st.Steps {
		if !slices.Contains(out, s.Decision.Service) {
			out = append(out, s.Decision.Service)
		}
	}
	return out
}

// startOf is the start of the life event's day in the time zone of the
// situation's person; zero when the event date is unknown.
func (p *Projection) startOf(o situation.Opened) time.Time {
	day, err := time.Parse(time.DateOnly, o.Trigger.EventDate)
	if err != nil {
		return time.Time{}
	}
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, p.location(o.Facts[o.PersonID].TimeZone))
}

func (p *Projection) location(zone string) *time.Location {
	if zone == "" {
		return time.UTC
	}
	if loc, ok := p.locations[zone]; ok {
		return loc
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	p.locations[zone] = loc
	return loc
}

// Outcomes counts how the service's steps were decided.
type Outcomes struct {
	GrantedAutomatically int `json:"granted_automatically"`
	GrantedOnApplication int `json:"granted_on_application"`
	Rejected             int `json:"rejected"`
	Notified             int `json:"notified"`
}

// Drafts counts the service's drafts by what became of them.
type Drafts struct {
	Created   int `json:"created"`
	Confirmed int `json:"confirmed"`
	Declined  int `json:"declined"`
	Expired   int `json:"expired"`
	Withdrawn int `json:"withdrawn"`
}

// Service is the quality of one service. Figures with no case to compute
// them from (no result yet, no draft finished, no rating) are nil.
type Service struct {
	Service string         `json:"service"`
	Title   catalogue.Text `json:"title"`
	Volume  int            `json:"volume"`
	// Results counts the steps with a result (granted, rejected or
	// notified) and a known life-event date: the population of the times.
	Results            int      `json:"results"`
	MedianTimeToResult *float64 `json:"median_time_to_result_seconds"`
	P90TimeToResult    *float64 `json:"p90_time_to_result_seconds"`
	// SumTimeToResult is the sum of the kept times, in seconds (the
	// metrics' summary carries it).
	SumTimeToResult   float64  `json:"-"`
	GrantedWithoutApp *float64 `json:"granted_without_application_share"`
	RejectionRate     *float64 `json:"rejection_rate"`
	DraftConfirmation *float64 `json:"draft_confirmation_rate"`
	MeanRating        *float64 `json:"mean_rating"`
	Ratings           int      `json:"ratings"`
	Outcomes          Outcomes `json:"outcomes"`
	Drafts            Drafts   `json:"drafts"`
	GrantsWithdrawn   int      `json:"grants_withdrawn"`
}

// Services is the quality of every service seen, by service code, and the
// log position it was computed up to.
func (p *Projection) Services() ([]Service, eventstore.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.Position()
	out := make([]Service, 0, len(p.services))
	for code, t := range p.services {
		out = append(out, t.figures(code))
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Service, b.Service) })
	return out, pos
}

func (t *tally) figures(code string) Service {
	s := Service{
		Service: code, Title: t.title, Volume: t.volume, Results: t.results, Ratings: t.ratingsNow,
		Outcomes: Outcomes{GrantedAutomatically: t.grantedAuto, GrantedOnApplication: t.grantedOnApp,
			Rejected: t.rejected, Notified: t.notified},
		Drafts: Drafts{Created: t.created, Confirmed: t.confirmed, Declined: t.declined,
			Expired: t.expired, Withdrawn: t.withdrawnDrafts},
		GrantsWithdrawn: t.withdrawnGrants,
	}
	if t.results > 0 {
		times := make([]int64, 0, len(t.minutes))
		for m, n := range t.minutes {
			times = append(times, m)
			s.SumTimeToResult += float64(m*60) * float64(n)
		}
		slices.Sort(times)
		s.MedianTimeToResult = ptr(float64(t.nearestRank(times, 50) * 60))
		s.P90TimeToResult = ptr(float64(t.nearestRank(times, 90) * 60))
	}
	s.GrantedWithoutApp = ratio(t.grantedAuto, t.volume)
	s.RejectionRate = ratio(t.rejected, t.grantedAuto+t.grantedOnApp+t.rejected)
	s.DraftConfirmation = ratio(t.confirmed, t.confirmed+t.declined+t.expired)
	s.MeanRating = ratio(t.ratingSum, t.ratingsNow)
	return s
}

// nearestRank is the smallest time (in minutes, among times in order) that
// at least percent % of the results do not exceed.
func (t *tally) nearestRank(times []int64, percent int) int64 {
	rank := max((percent*t.results+99)/100, 1)
	seen := 0
	for _, m := range times {
		seen += t.minutes[m]
		if seen >= rank {
			return m
		}
	}
	return times[len(times)-1]
}

func ratio(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	return ptr(float64(n) / float64(of))
}

func ptr(v float64) *float64 { return &v }
