package population_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	_ "time/tzdata" // zone checks must not depend on the machine's zoneinfo

	"lifesituations/adapters/auth"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/adapters/population"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func generate(t *testing.T, persons int, seed uint64) *population.Population {
	t.Helper()
	p, err := population.New(population.Config{Persons: persons, Seed: seed, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func collect(p *population.Population) []population.Event {
	var out []population.Event
	for e := range p.Initial() {
		out = append(out, e)
	}
	return out
}

func marshal(t *testing.T, events []population.Event) []byte {
	t.Helper()
	b, err := population.Batch(events)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSameSeedSamePopulationAndDays(t *testing.T) {
	a, b := generate(t, 3000, 7), generate(t, 3000, 7)
	if !bytes.Equal(marshal(t, collect(a)), marshal(t, collect(b))) {
		t.Fatal("same seed, different initial events")
	}
	if !bytes.Equal(marshal(t, collect(a)), marshal(t, collect(a))) {
		t.Fatal("Initial differs when called twice")
	}
	for d := range 30 {
		day := start.AddDate(0, 0, d)
		ea, err := a.Day(day)
		if err != nil {
			t.Fatal(err)
		}
		eb, _ := b.Day(day)
		if !bytes.Equal(marshal(t, ea), marshal(t, eb)) {
			t.Fatalf("day %d differs", d)
		}
	}
	if _, err := a.Day(start.AddDate(0, 0, 5)); err == nil {
		t.Fatal("a day simulated twice")
	}
	c := generate(t, 3000, 8)
	if bytes.Equal(marshal(t, collect(a)[:10]), marshal(t, collect(c)[:10])) {
		t.Fatal("another seed, same persons")
	}
}

// A year of a population of 40,000 has the country's proportions.
func TestProportions(t *testing.T) {
	const n = 40_000
	p := generate(t, n, 1)
	s := p.Summary()
	t.Log(s)
	within := func(what string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: %.4f, want [%.4f, %.4f]", what, got, lo, hi)
		}
	}
	within("women", s.Women, 0.50, 0.57)
	within("minors", s.Minors, 0.18, 0.24)
	within("65 or over", s.Elderly, 0.13, 0.22)
	within("Russian adults", s.RussianAdults, 0.93, 0.97)
	if s.Regions < 25 || s.TimeZones < 10 {
		t.Errorf("%d regions in %d zones, want the country's spread", s.Regions, s.TimeZones)
	}
	within("minors with their mother", float64(s.Children)/(s.Minors*float64(s.Alive)), 0.95, 1)
	within("children with a father", float64(s.WithFather)/float64(s.Children), 0.7, 0.9)

	incomes := 0
	for e := range p.Initial() {
		if e.Type == lifeevent.IncomeReported {
			incomes++
		}
	}
	within("income reports", float64(incomes)/n, 0.12, 0.25)

	counts := map[lifeevent.Type]int{}
	for d := range 365 {
		events, err := p.Day(start.AddDate(0, 0, d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			counts[e.Type]++
		}
	}
	t.Logf("a year: %v; %d milestones", counts, p.Milestones(start, start.AddDate(1, 0, -1), []int{14, 20, 45}))
	within("births a year", float64(counts[lifeevent.BirthRegistered])/n, 0.0085, 0.0115)
	within("deaths a year", float64(counts[lifeevent.DeathRegistered])/n, 0.0112, 0.0148)
	within("moves a year", float64(counts[lifeevent.ResidenceChanged])/n, 0.017, 0.023)
	within("marriages a year", float64(counts[lifeevent.MarriageRegistered])/n, 0.004, 0.006)
	// Milestones come from the calendar; the birth dates make them about
	// 4% a year (14, 20 and 45, from the pyramid's bands).
	within("milestones a year", float64(p.Milestones(start, start.AddDate(1, 0, -1), []int{14, 20, 45}))/n, 0.03, 0.045)
	if got := p.Summary().Alive; math.Abs(float64(got-n)) > 0.01*n {
		t.Errorf("%d alive after a year, want about %d", got, n)
	}
}

// Every event is one ingest accepts, in order: the right registry, known
// persons, no date in the future, children born after their mothers.
func TestEveryEventIsValid(t *testing.T) {
	p := generate(t, 5000, 3)
	index := register.NewIndex()
	validator := lifeevent.Validator{TimeZoneValid: func(name string) bool {
		_, err := time.LoadLocation(name)
		return err == nil
	}}
	seen := map[string]bool{}
	check := func(e population.Event, now time.Time) {
		t.Helper()
		if !e.Type.OwnedBy(e.Source) {
			t.Fatalf("%s sent by %s", e.Type, e.Source)
		}
		key := e.Source + "\n" + e.ID
		if seen[key] {
			t.Fatalf("event id %s of %s twice", e.ID, e.Source)
		}
		seen[key] = true
		// The event must survive the trip through its CloudEvent.
		var ce struct {
			Type, Subject, Time string
			Data                json.RawMessage
		}
		raw, _ := e.MarshalJSON()
		if err := json.Unmarshal(raw, &ce); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339Nano, ce.Time)
		if err != nil {
			t.Fatal(err)
		}
		checked, errs := validator.Validate(lifeevent.Input{Type: ce.Type, Subject: ce.Subject, Time: at, Data: ce.Data}, index, now)
		if len(errs) > 0 {
			t.Fatalf("%s %s refused: %v\n%s", e.Type, e.ID, errs, e.Data)
		}
		if e.Applicant == "" {
			t.Fatalf("%s %s names no applicant", e.Type, e.ID)
		}
		if err := index.Apply(eventstore.RecordedEvent{Event: e.Stored(), Stream: checked.Stream()}); err != nil {
			t.Fatal(err)
		}
	}
	for e := range p.Initial() {
		check(e, start.Add(12*time.Hour))
	}
	for d := range 365 {
		day := start.AddDate(0, 0, d)
		events, err := p.Day(day)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			check(e, day.Add(12*time.Hour))
		}
		if d%90 == 0 {
			for _, e := range p.Events(50) {
				check(e, day.Add(12*time.Hour))
			}
		}
	}
}

// Stored is what ingest stores: a bulk load appending it directly makes
// the log an HTTP load would have made.
func TestStoredIsWhatIngestStores(t *testing.T) {
	p := generate(t, 300, 5)
	events := collect(p)
	day, err := p.Day(start)
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, day...)
	events = append(events, p.Events(20)...)

	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	h, err := ingest.NewHandler(ingest.Config{
		Store: store, Register: register.NewIndex(), Clock: clock.NewManual(start.Add(12 * time.Hour)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source := r.Header.Get("X-Test-Source")
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Role: auth.RoleRegistry, Subject: source})))
	}))
	defer srv.Close()
	for _, e := range events {
		body, _ := e.MarshalJSON()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+ingest.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", population.ContentTypeEvent)
		req.Header.Set("X-Test-Source", e.Source)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", e.Type, e.ID, resp.StatusCode, msg)
		}
	}
	stored, err := store.ReadAll(context.Background(), 0, eventstore.Filter{}, len(events)+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(events) {
		t.Fatalf("%d stored, want %d", len(stored), len(events))
	}
	for i, got := range stored {
		want := events[i].Stored()
		gm, wm := got.Metadata, want.Metadata
		gm.RecordedAt = time.Time{}
		if got.Stream != events[i].Stream() || got.ID != want.ID || got.Type != want.Type || got.SchemaVersion != want.SchemaVersion ||
			!bytes.Equal(got.Data, want.Data) || !gm.OccurredAt.Equal(wm.OccurredAt) {
			t.Fatalf("event %d: stored\n%s %s %s v%d %s\nwant\n%s %s %s v%d %s", i,
				got.Stream, got.ID, got.Type, got.SchemaVersion, got.Data,
				events[i].Stream(), want.ID, want.Type, want.SchemaVersion, want.Data)
		}
		gm.OccurredAt, wm.OccurredAt = time.Time{}, time.Time{}
		gj, _ := json.Marshal(gm)
		wj, _ := json.Marshal(wm)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("event %d: metadata %s, want %s", i, gj, wj)
		}
	}
}
