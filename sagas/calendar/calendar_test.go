package calendar_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/sagas/calendar"
)

func TestBirthdayFiresAtLocalMidnight(t *testing.T) {
	start := utc("2026-06-14T10:00:00Z")
	f := newFixture(t, start)
	vladivostok := f.person("2012-06-15", "Asia/Vladivostok")   // UTC+10
	kaliningrad := f.person("2012-06-15", "Europe/Kaliningrad") // UTC+2
	f.at(start)
	if got := f.fired(); len(got) != 0 {
		t.Fatalf("fired before any midnight: %v", got)
	}

	// Midnight in Vladivostok is still the afternoon before in Kaliningrad.
	f.at(utc("2026-06-14T14:00:00Z"))
	fired := f.fired()
	if len(fired[kaliningrad]) != 0 {
		t.Errorf("Kaliningrad fired at Vladivostok's midnight")
	}
	d, ev := f.reached(fired, vladivostok)
	if d.Age != 14 || d.Date != "2026-06-15" || d.PersonID != vladivostok {
		t.Errorf("age.reached %+v", d)
	}
	if ev.ID != calendar.AgeReachedID(vladivostok, 14) || ev.Stream != "person-"+vladivostok {
		t.Errorf("event %s in %s", ev.ID, ev.Stream)
	}
	m := ev.Metadata
	if !m.OccurredAt.Equal(utc("2026-06-15T00:00:00+10:00")) || m.Source != calendar.Source || m.CorrelationID != ev.ID.String() {
		t.Errorf("metadata %+v", m)
	}

	f.at(utc("2026-06-14T21:59:59Z"))
	if len(f.fired()[kaliningrad]) != 0 {
		t.Errorf("Kaliningrad fired a second before its midnight")
	}
	f.at(utc("2026-06-14T22:00:00Z"))
	if d, _ := f.reached(f.fired(), kaliningrad); d.Date != "2026-06-15" {
		t.Errorf("Kaliningrad reached on %s", d.Date)
	}

	// The day is swept for good only once it has begun everywhere.
	f.at(utc("2026-06-15T11:59:59Z"))
	if got := f.cal.Swept().String(); got != "2026-06-14" {
		t.Errorf("swept up to %s before midnight at UTC-12", got)
	}
	f.at(utc("2026-06-15T12:00:00Z"))
	if got := f.cal.Swept().String(); got != "2026-06-15" {
		t.Errorf("swept up to %s at midnight at UTC-12", got)
	}
}

func TestTwentyNinthOfFebruary(t *testing.T) {
	t.Run("CommonYear", func(t *testing.T) {
		f := newFixture(t, utc("2026-02-27T12:00:00Z"))
		leapling := f.person("2012-02-29", "UTC")
		twentyEighth := f.person("2012-02-28", "UTC")
		first := f.person("2012-03-01", "UTC")
		f.at(utc("2026-02-27T12:00:00Z"))
		f.at(utc("2026-02-28T00:00:00Z"))
		fired := f.fired()
		for _, id := range []string{leapling, twentyEighth} {
			if d, _ := f.reached(fired, id); d.Date != "2026-02-28" || d.Age != 14 {
				t.Errorf("%s: %+v", id, d)
			}
		}
		if len(fired[first]) != 0 {
			t.Error("1 March fired on 28 February")
		}
		f.at(utc("2026-03-01T12:00:00Z"))
		fired = f.fired()
		f.reached(fired, leapling) // still only one
		if d, _ := f.reached(fired, first); d.Date != "2026-03-01" {
			t.Errorf("1 March: %+v", d)
		}
	})
	t.Run("LeapYear", func(t *testing.T) {
		f := newFixture(t, utc("2028-02-27T12:00:00Z"))
		leapling := f.person("2008-02-29", "UTC")
		twentyEighth := f.person("2008-02-28", "UTC")
		f.at(utc("2028-02-27T12:00:00Z"))
		f.at(utc("2028-02-28T23:59:59Z"))
		fired := f.fired()
		if d, _ := f.reached(fired, twentyEighth); d.Date != "2028-02-28" || d.Age != 20 {
			t.Errorf("28 February: %+v", d)
		}
		if len(fired[leapling]) != 0 {
			t.Error("29 February fired on 28 February of a leap year")
		}
		f.at(utc("2028-02-29T00:00:00Z"))
		if d, _ := f.reached(f.fired(), leapling); d.Date != "2028-02-29" || d.Age != 20 {
			t.Errorf("29 February: %+v", d)
		}
	})
}

func TestCatchUpAfterDowntime(t *testing.T) {
	f := newFixture(t, utc("2026-05-01T12:00:00Z"))
	f.at(utc("2026-05-01T12:00:00Z"))
	if got := f.cal.Swept().String(); got != "2026-05-01" {
		t.Fatalf("first start swept up to %s", got)
	}
	want := map[string]string{}
	for day := 2; day <= 8; day++ {
		want[f.person(lifeevent.Date{Year: 2012, Month: time.May, Day: day}.String(), "Europe/Moscow")] =
			lifeevent.Date{Year: 2026, Month: time.May, Day: day}.String()
	}
	want[f.person("1981-05-05", "Asia/Kamchatka")] = "2026-05-05"

	// A week later, a new process.
	f.cal = f.newCalendar()
	f.at(utc("2026-05-09T13:00:00Z"))
	fired := f.fired()
	for id, date := range want {
		if d, _ := f.reached(fired, id); d.Date != date {
			t.Errorf("%s reached on %s, want %s", id, d.Date, date)
		}
	}
	if got := f.cal.Swept().String(); got != "2026-05-09" {
		t.Errorf("swept up to %s", got)
	}
	evs, err := f.store.ReadStream(context.Background(), calendar.Stream, 0, eventstore.Forwards, 100)
	if err != nil {
		t.Fatal(err)
	}
	day := lifeevent.Date{Year: 2026, Month: time.April, Day: 29}
	for i, e := range evs {
		var s calendar.Swept
		if err := json.Unmarshal(e.Data, &s); err != nil {
			t.Fatal(err)
		}
		if s.Date != day.String() || e.ID != calendar.SweptID(day) || s.Initial != (i == 0) {
			t.Errorf("checkpoint %d: %+v, want %s", i, s, day)
		}
		day = lifeevent.DateOf(time.Date(day.Year, day.Month, day.Day+1, 0, 0, 0, 0, time.UTC))
	}
	if day.String() != "2026-05-10" {
		t.Errorf("checkpoints end before %s", day)
	}
}

func TestDeadPersonsFireNothing(t *testing.T) {
	f := newFixture(t, utc("2026-06-14T10:00:00Z"))
	alive := f.person("2012-06-15", "Europe/Moscow")
	dead := f.person("2012-06-15", "Europe/Moscow")
	deadLate := f.person("2012-05-01", "Europe/Moscow") // inside the window: a late registration
	for _, id := range []string{dead, deadLate} {
		f.append("person-"+id, "death.registered", map[string]any{
			"record_number": "d-" + id[:4], "person_id": id, "date_of_death": "2026-06-01", "informant_id": alive, "region": "RU-MOW",
		})
	}
	f.at(utc("2026-06-14T10:00:00Z"))
	f.at(utc("2026-06-16T00:00:00Z"))
	fired := f.fired()
	f.reached(fired, alive)
	if len(fired[dead]) != 0 || len(fired[deadLate]) != 0 {
		t.Errorf("the dead reached an age: %v %v", fired[dead], fired[deadLate])
	}
}

func TestResweepAppendsNothingNew(t *testing.T) {
	f := newFixture(t, utc("2026-06-14T10:00:00Z"))
	f.person("2012-06-15", "Asia/Vladivostok")
	f.person("2012-06-15", "Europe/Kaliningrad")
	f.at(utc("2026-06-14T10:00:00Z"))
	// A second calendar, as another process would be, one tick behind.
	behind := f.newCalendar()
	if err := behind.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}

	f.at(utc("2026-06-14T14:00:00Z"))
	last := f.last()
	if err := f.cal.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.last() != last {
		t.Errorf("a second tick at the same time appended %d event(s)", f.last()-last)
	}
	f.cal = f.newCalendar() // forgets how far the day got
	f.at(utc("2026-06-14T14:00:00Z"))
	if f.last() != last {
		t.Errorf("a restarted calendar appended %d event(s)", f.last()-last)
	}

	f.at(utc("2026-06-15T12:00:00Z"))
	last = f.last()
	// The one behind sweeps again days already swept, with their events
	// and checkpoints: only duplicates.
	if err := behind.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.last() != last {
		t.Errorf("re-sweeping appended %d event(s)", f.last()-last)
	}
	if got := behind.Swept().String(); got != "2026-06-15" {
		t.Errorf("the one behind swept up to %s", got)
	}
}

func TestLateRegistration(t *testing.T) {
	now := utc("2026-06-15T12:00:00Z") // 15:00 in Moscow
	f := newFixture(t, now)
	f.at(now)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := f.cal.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
	defer wg.Wait()
	defer cancel()

	outside := f.person("2012-03-01", "Europe/Moscow")  // 14 on 1 March: 106 days ago
	lastDay := f.person("2006-03-17", "Europe/Moscow")  // 20 on 17 March: 90 days ago
	dayAfter := f.person("2006-03-16", "Europe/Moscow") // 91 days ago
	tomorrow := f.person("2012-06-16", "Europe/Moscow") // not yet
	inside := f.person("2012-04-01", "Europe/Moscow")   // 75 days ago
	f.waitFired(ctx, inside)

	fired := f.fired()
	d, ev := f.reached(fired, inside)
	if d.Age != 14 || d.Date != "2026-04-01" || ev.ID != calendar.AgeReachedID(inside, 14) {
		t.Errorf("late milestone %+v (%s)", d, ev.ID)
	}
	if !ev.Metadata.OccurredAt.Equal(utc("2026-04-01T00:00:00+03:00")) || ev.Metadata.CausationID == "" {
		t.Errorf("late milestone metadata %+v", ev.Metadata)
	}
	if d, _ := f.reached(fired, lastDay); d.Age != 20 || d.Date != "2026-03-17" {
		t.Errorf("on the window's last day: %+v", d)
	}
	for _, id := range []string{outside, dayAfter, tomorrow} {
		if len(fired[id]) != 0 {
			t.Errorf("%s fired: %v", id, fired[id])
		}
	}

	// Registered on the birthday, after local midnight: fired at once, and
	// the day's sweep appends only a duplicate.
	today := f.person("2012-06-15", "Asia/Vladivostok")
	f.waitFired(ctx, today)
	f.at(utc("2026-06-15T21:00:00Z")) // midnight in Moscow
	fired = f.fired()
	f.reached(fired, today)
	if d, _ := f.reached(fired, tomorrow); d.Date != "2026-06-16" {
		t.Errorf("registered before the birthday: %+v", d)
	}
}

func TestLateRegistrationByTick(t *testing.T) {
	now := utc("2026-06-15T12:00:00Z")
	f := newFixture(t, now)
	f.at(now)
	inside := f.person("2012-04-01", "Europe/Moscow")
	outside := f.person("2012-03-01", "Europe/Moscow")
	// Registered again (a correction): one page holds both registrations.
	f.append("person-"+inside, "person.registered", map[string]any{
		"person_id": inside, "family_name": "Ivanova", "given_name": "Anna", "birth_date": "2012-04-01", "sex": "F",
		"citizenship": "RU", "region": "RU-SPE", "time_zone": "Europe/Moscow", "address": "Saint Petersburg, Nevsky 2",
	})
	f.at(now.Add(time.Minute))
	fired := f.fired()
	f.reached(fired, inside)
	if len(fired[outside]) != 0 {
		t.Errorf("outside the window: %v", fired[outside])
	}
}

func TestConfig(t *testing.T) {
	f := newFixture(t, utc("2026-06-15T12:00:00Z"))
	for _, cfg := range []calendar.Config{
		{Register: f.reg, Clock: f.clock},
		{Store: f.store, Register: f.reg, Clock: f.clock, Ages: []int{0, 14}},
		{Store: f.store, Register: f.reg, Clock: f.clock, WindowDays: -1},
	} {
		if _, err := calendar.New(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

// waitFired blocks until the person's age.reached is in the log.
func (f *fixture) waitFired(ctx context.Context, id string) {
	f.t.Helper()
	errFound := errors.New("found")
	err := f.store.SubscribeAll(ctx, 0, eventstore.Filter{TypePrefixes: []string{calendar.TypeAgeReached}},
		func(e eventstore.RecordedEvent) error {
			if e.Stream == "person-"+id {
				return errFound
			}
			return nil
		})
	if !errors.Is(err, errFound) {
		f.t.Fatalf("waiting for %s: %v", id, err)
	}
}

// countingStore counts the appends that reach the store.
type countingStore struct {
	eventstore.Store
	appends int
}

func (s *countingStore) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	s.appends++
	return s.Store.AppendMany(ctx, appends)
}

// A tick at midnight completes a day in the west and begins the next in
// the east: both, and the day's checkpoint, go out in one append.
func TestMidnightIsOneAppend(t *testing.T) {
	f := newFixture(t, utc("2026-06-15T07:00:00Z"))
	anchorage := f.person("2012-06-15", "America/Anchorage") // UTC-8: midnight at 08:00Z
	kamchatka := f.person("1981-06-16", "Asia/Kamchatka")    // UTC+12: midnight at 12:00Z
	f.at(utc("2026-06-15T07:00:00Z"))                        // registrations handled, nothing due
	counting := &countingStore{Store: f.store}
	cal, err := calendar.New(calendar.Config{Store: counting, Register: f.reg, Clock: f.clock, Ages: []int{14, 20, 45}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.clock.Set(utc("2026-06-15T12:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := cal.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	fired := f.fired()
	if d, _ := f.reached(fired, anchorage); d.Date != "2026-06-15" {
		t.Errorf("Anchorage reached on %s", d.Date)
	}
	if d, _ := f.reached(fired, kamchatka); d.Date != "2026-06-16" {
		t.Errorf("Kamchatka reached on %s", d.Date)
	}
	if got := cal.Swept().String(); got != "2026-06-15" {
		t.Errorf("swept up to %s", got)
	}
	if counting.appends != 1 {
		t.Errorf("the tick appended %d times, want once", counting.appends)
	}

	// The day begun in the east is remembered: the next tick fires no one
	// again, and completes it with its checkpoint alone.
	if err := f.clock.Set(utc("2026-06-16T12:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := cal.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fired()[kamchatka]); n != 1 {
		t.Errorf("Kamchatka has %d age.reached events", n)
	}
	if got := cal.Swept().String(); got != "2026-06-16" {
		t.Errorf("swept up to %s", got)
	}
}
