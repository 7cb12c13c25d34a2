// Package calendar reports ages reached. On every move of the clock it
// sweeps day by day from its checkpoint, finds through the register's
// birthday index whose birthday each day is, and appends age.reached for
// the milestone ages at local midnight in each person's time zone. A person
// registered after a milestone but inside its window gets the event at once.
// Every event has a deterministic id, so a re-sweep appends only duplicates.
package calendar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Register is what the calendar reads of the register projection.
type Register interface {
	// WaitFor blocks until the register has folded the log up to pos.
	WaitFor(ctx context.Context, pos eventstore.Position) error
	// BornOn lists the persons born on that date (the birthday index).
	BornOn(year int, month time.Month, day int) []string
	People(ids ...string) map[string]catalogue.Person
}

// DefaultAges are the milestone ages of the default catalogue.
var DefaultAges = []int{14, 20, 45}

// DefaultWindowDays is how long after a milestone a late registration still
// fires it: the milestones' 90-day deadline.
const DefaultWindowDays = 90

// Config of a Calendar.
type Config struct {
	Store    eventstore.Store
	Register Register
	Clock    clock.Clock
	// Ages are the milestone ages (DefaultAges when empty).
	Ages []int
	// WindowDays bounds how late a registration still fires a milestone,
	// inclusive (DefaultWindowDays when zero).
	WindowDays int
}

// Calendar appends age.reached events. Tick and Run may be called from
// different goroutines; they take turns.
type Calendar struct {
	store    eventstore.Store
	register Register
	clock    clock.Clock
	ages     []int
	window   int

	// mu serializes Tick and the handling of registrations, and guards
	// what follows.
	mu     sync.Mutex
	loaded bool
	// swept is the last day swept in every time zone.
	swept lifeevent.Date
	// regAfter: every registration up to this position has been handled.
	regAfter eventstore.Position
	// partial holds, for each day begun in some zones but not all, the
	// time up to which its birthdays have fired in this process.
	partial map[lifeevent.Date]time.Time
	zones   zones
}

// New checks the configuration; the checkpoint is read on first use.
func New(cfg Config) (*Calendar, error) {
	if cfg.Store == nil || cfg.Register == nil || cfg.Clock == nil {
		return nil, errors.New("calendar: store, register and clock are required")
	}
	ages := slices.Clone(cfg.Ages)
	if len(ages) == 0 {
		ages = slices.Clone(DefaultAges)
	}
	slices.Sort(ages)
	ages = slices.Compact(ages)
	if ages[0] <= 0 {
		return nil, fmt.Errorf("calendar: milestone age %d, want > 0", ages[0])
	}
	window := cfg.WindowDays
	if window == 0 {
		window = DefaultWindowDays
	}
	if window < 0 {
		return nil, fmt.Errorf("calendar: window of %d days, want >= 0", window)
	}
	return &Calendar{
		store: cfg.Store, register: cfg.Register, clock: cfg.Clock, ages: ages, window: window,
		partial: map[lifeevent.Date]time.Time{}, zones: zones{},
	}, nil
}

// Swept is the last day swept in every time zone (zero before first use).
func (c *Calendar) Swept() lifeevent.Date {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.swept
}

// load reads the checkpoint: the last calendar.swept event.
func (c *Calendar) load(ctx context.Context, now time.Time) error {
	if c.loaded {
		return nil
	}
	evs, err := c.store.ReadStream(ctx, Stream, math.MaxUint64, eventstore.Backwards, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) || err == nil && len(evs) == 0 {
		return c.start(ctx, now)
	}
	if err != nil {
		return fmt.Errorf("read the checkpoint: %w", err)
	}
	if evs[0].Type != TypeSwept {
		return fmt.Errorf("the last event of %s is a %s, not a %s", Stream, evs[0].Type, TypeSwept)
	}
	var s Swept
	if err := json.Unmarshal(evs[0].Data, &s); err != nil {
		return fmt.Errorf("checkpoint at revision %d: %w", evs[0].Revision, err)
	}
	if c.swept, err = lifeevent.ParseDate(s.Date); err != nil {
		return fmt.Errorf("checkpoint at revision %d: %w", evs[0].Revision, err)
	}
	c.regAfter, c.loaded = s.RegistrationsAfter, true
	return nil
}

// start is the first start: sweeping begins the day before the clock's date
// (in UTC), not at the dawn of time. The starting point is recorded at once,
// so that a downtime right after it is still caught up.
func (c *Calendar) start(ctx context.Context, now time.Time) error {
	day := addDays(lifeevent.DateOf(now.UTC()), -2)
	if err := c.appendAll(ctx, nil, &Swept{Date: day.String(), Initial: true}); err != nil {
		return fmt.Errorf("record the starting point: %w", err)
	}
	c.swept, c.loaded = day, true
	return nil
}

// appendAll appends age events and then, when given, the day's checkpoint,
// in chunks; the checkpoint goes last so that a store that may write a
// prefix (EventStoreDB) never records a day whose events are missing.
func (c *Calendar) appendAll(ctx context.Context, events []eventstore.StreamAppend, checkpoint *Swept) error {
	const chunk = 500
	// One person registered twice in a page would bring the same event
	// twice into one append.
	seen := make(map[uuid.UUID]bool, len(events))
	events = slices.DeleteFunc(slices.Clone(events), func(a eventstore.StreamAppend) bool {
		dup := seen[a.Events[0].ID]
		seen[a.Events[0].ID] = true
		return dup
	})
	if checkpoint != nil {
		date, err := lifeevent.ParseDate(checkpoint.Date)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		s, err := swept(*checkpoint, midnight(date, lastZone))
		if err != nil {
			return err
		}
		events = append(events, s)
	}
	for len(events) > 0 {
		n := min(chunk, len(events))
		if _, err := c.store.AppendMany(ctx, events[:n]); err != nil {
			return fmt.Errorf("append %d event(s): %w", n, err)
		}
		events = events[n:]
	}
	return nil
}
