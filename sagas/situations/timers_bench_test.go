package situations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// jsonRegister decodes a person's row on every read, as the register
// projection does (it keeps rows as JSON in bbolt).
type jsonRegister struct {
	*register
	rows map[string][]byte
}

func (r *jsonRegister) Person(id string) (catalogue.Person, bool) {
	row, ok := r.rows[id]
	if !ok {
		return r.register.Person(id)
	}
	var p catalogue.Person
	if err := json.Unmarshal(row, &p); err != nil {
		panic(err)
	}
	return p, true
}

type benchReminder struct {
	at        time.Time
	situation uuid.UUID
	draft     uuid.UUID
	due       string
}

// BenchmarkTimersTick ticks hourly over 100,000 open drafts of 10,000
// applicants in three time zones, with reminders spread over a year: a tick
// finds a few hundred reminders due at most, and most find none. After each
// tick the reminders it fired are folded back, as the router would.
func BenchmarkTimersTick(b *testing.B) {
	const (
		drafts     = 100_000
		applicants = 10_000
	)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	store, err := embedded.Open(b.TempDir(), embedded.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	reg := &jsonRegister{register: &register{people: map[string]catalogue.Person{}}, rows: map[string][]byte{}}
	svc, err := situations.NewService(situations.Config{Store: store, Catalogue: cat, Register: reg, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	// One real situation: the synthetic drafts point at it, so that a
	// reminder loads a stream (and records nothing: the draft is not in it).
	reg.people[mother] = catalogue.Person{ID: mother, FamilyName: "Ivanova", GivenName: "Maria", BirthDate: "1994-03-01",
		Sex: "F", Citizenship: "RU", Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Moscow, Tverskaya 1", Children: []string{child}}
	reg.people[child] = catalogue.Person{ID: child, BirthDate: "2026-02-20", Sex: "M", Region: "RU-MOW", Parents: []string{mother}}
	birth, _ := json.Marshal(map[string]any{
		"record_number": "770-1", "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Petr",
		"birth_date": "2026-02-20", "sex": "M", "mother_id": mother, "region": "RU-MOW", "time_zone": "Europe/Moscow",
		"address": "Moscow, Tverskaya 1",
	})
	res, err := store.Append(ctx, "person-"+child, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "birth.registered", Data: birth})
	if err != nil {
		b.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, res.Position-1, eventstore.Filter{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	openings, err := svc.HandleTrigger(ctx, evs[0])
	if err != nil || len(openings) != 1 {
		b.Fatal(openings, err)
	}
	sit := openings[0].ID

	zones := []string{"Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok"}
	locs := map[string]*time.Location{}
	for _, z := range zones {
		locs[z], _ = time.LoadLocation(z)
	}
	for i := range applicants {
		id := fmt.Sprintf("6f1c3c1e-0000-4000-8000-%012d", 100+i)
		p := catalogue.Person{ID: id, FamilyName: "Petrova", GivenName: "Anna", BirthDate: "1990-01-01", Sex: "F",
			Citizenship: "RU", Region: "RU-MOW", TimeZone: zones[i%len(zones)], Address: "Moscow, Tverskaya 1"}
		row, _ := json.Marshal(p)
		reg.rows[id] = row
	}
	timers := situations.NewTimers(svc, 24*time.Hour, nil)
	var reminders []benchReminder
	day1 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range drafts {
		applicant := fmt.Sprintf("6f1c3c1e-0000-4000-8000-%012d", 100+i%applicants)
		r1 := day1.AddDate(0, 0, i%365)
		r2 := r1.AddDate(0, 0, 30)
		d := catalogue.StepDecision{Key: "bench", Service: "child-allowance", Outcome: catalogue.OutcomeDrafted,
			Applicant: applicant, Deadline: "2028-01-01",
			Reminders: []string{r1.Format(time.DateOnly), r2.Format(time.DateOnly)}}
		e := situation.StepDecided{SituationID: sit, StepID: uuid.New(), Decision: d, DecidedAt: start}
		data, _ := json.Marshal(e)
		if err := timers.Apply(eventstore.RecordedEvent{Event: eventstore.Event{Type: situation.TypeStepDecided, Data: data}, Position: eventstore.Position(i + 1)}); err != nil {
			b.Fatal(err)
		}
		loc := locs[zones[i%applicants%len(zones)]]
		for _, r := range []time.Time{r1, r2} {
			at := time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, loc)
			reminders = append(reminders, benchReminder{at: at, situation: sit, draft: e.StepID, due: r.Format(time.DateOnly)})
		}
	}
	sort.Slice(reminders, func(i, j int) bool { return reminders[i].at.Before(reminders[j].at) })
	pos := eventstore.Position(drafts + 1)

	// The first tick reads every applicant's zone; the ticks measured are
	// the steady state of a running server.
	began := time.Now()
	if err := timers.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	first := time.Since(began)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = clk.Advance(time.Hour)
		if err := timers.Tick(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		now := clk.Now()
		for len(reminders) > 0 && !reminders[0].at.After(now) {
			r := reminders[0]
			reminders = reminders[1:]
			data, _ := json.Marshal(situation.DraftReminded{SituationID: r.situation, DraftID: r.draft, Due: r.due, Deadline: "2028-01-01", At: now})
			pos++
			if err := timers.Apply(eventstore.RecordedEvent{Event: eventstore.Event{Type: situation.TypeDraftReminded, Data: data}, Position: pos}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-tick-ms")
}
