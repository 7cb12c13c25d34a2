package calendar_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
	"lifesituations/sagas/calendar"
)

// BenchmarkCalendarDay sweeps one day per iteration over a register of a
// million persons, born over a hundred years with their birthdays spread
// over the year (about 2,740 a day), in eleven time zones.
//
//	go test -run '^$' -bench CalendarDay -benchtime 365x ./sagas/calendar
func BenchmarkCalendarDay(b *testing.B) {
	const persons = 1_000_000
	dir := b.TempDir()
	reg, err := register.OpenProjection(filepath.Join(dir, "register.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = reg.Close() }()
	seedRegister(b, reg, persons)

	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	store, err := embedded.Open(filepath.Join(dir, "store"), embedded.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	cal, err := calendar.New(calendar.Config{Store: store, Register: reg, Clock: clk, Ages: []int{14, 20, 45}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := cal.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	before, _ := store.LastPosition(ctx)

	days := 0
	for b.Loop() {
		days++
		// At noon UTC a day has begun everywhere: each tick sweeps one
		// whole day (and the next one in the zones already in it).
		if err := clk.Set(start.AddDate(0, 0, days)); err != nil {
			b.Fatal(err)
		}
		if err := cal.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	after, _ := store.LastPosition(ctx)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(days), "ms/day")
	b.ReportMetric(float64(after-before)/float64(days), "events/day")
}

var benchZones = []string{
	"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka",
}

// seedRegister folds n synthetic person.registered events straight into the
// register, in batches, bypassing the log. Ids and birthdays grow with the
// index so that the file is written in key order.
func seedRegister(b *testing.B, reg *register.Projection, n int) {
	b.Helper()
	const batch = 10_000
	perDay := (n + 364) / 365
	events := make([]eventstore.RecordedEvent, 0, batch)
	for i := range n {
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[8:], uint64(i+1))
		id[6], id[8] = 0x40, id[8]|0x80 // a version 4 layout
		dayOfYear, nth := i/perDay, i%perDay
		birthday := time.Date(2001, 1, 1+dayOfYear, 0, 0, 0, 0, time.UTC) // a common year
		born := time.Date(1926+nth*100/perDay, birthday.Month(), birthday.Day(), 0, 0, 0, 0, time.UTC)
		data, err := json.Marshal(map[string]any{
			"person_id": id, "family_name": "Ivanova", "given_name": "Anna", "birth_date": born.Format(time.DateOnly),
			"sex": "F", "citizenship": "RU", "region": "RU-MOW", "time_zone": benchZones[i%len(benchZones)],
			"address": "Moscow, Tverskaya 1",
		})
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, eventstore.RecordedEvent{
			Event:  eventstore.Event{ID: id, Type: "person.registered", SchemaVersion: 1, Data: data},
			Stream: "person-" + id.String(), Position: uint64(i + 1),
		})
		if len(events) == batch || i == n-1 {
			if err := reg.Apply(events); err != nil {
				b.Fatal(err)
			}
			events = events[:0]
		}
	}
}
