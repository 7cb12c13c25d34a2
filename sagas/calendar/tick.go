package calendar

import (
	"context"
	"fmt"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Tick catches up with the clock: it handles the registrations the
// register has folded, then sweeps every day from the checkpoint to the
// latest date anywhere on Earth, firing each birthday whose local midnight
// has passed. The server calls it when the manual clock moves and every
// minute with the system clock; it returns once everything due is appended.
func (c *Calendar) Tick(ctx context.Context) error {
	last, err := c.store.LastPosition(ctx)
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	// Everyone registered so far must be in the register, or the sweep
	// would miss them.
	if err := c.register.WaitFor(ctx, last); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if err := c.load(ctx, now); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	if err := c.catchUpRegistrations(ctx, last, now); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	if err := c.sweep(ctx, now); err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	return nil
}

// sweep fires the birthdays due by now, day by day. A day's checkpoint is
// recorded, with its last events, once its midnight has passed everywhere;
// a day begun only in some zones remembers in memory how far it got, so
// the next tick fires only the zones that reached it since.
//
// The days due go out in one append: a tick at midnight completes a day in
// the west and begins the next in the east, and one append (one sync, one
// wake of the sagas, which would otherwise meet the second append at the
// store's writer) answers both. An append holds at most one checkpoint, so
// a catch-up over many days appends day by day as before.
func (c *Calendar) sweep(ctx context.Context, now time.Time) error {
	latest := lifeevent.Today(now)
	var (
		batch      []eventstore.StreamAppend
		days       []lifeevent.Date
		checkpoint bool
	)
	flush := func() error {
		if err := c.appendAll(ctx, batch, nil); err != nil {
			if len(days) > 1 {
				return fmt.Errorf("sweep %s to %s: %w", days[0], days[len(days)-1], err)
			}
			return fmt.Errorf("sweep %s: %w", days[0], err)
		}
		for _, d := range days {
			if complete(d, now) {
				c.swept = d
				delete(c.partial, d)
			} else {
				c.partial[d] = now
			}
		}
		batch, days, checkpoint = batch[:0], days[:0], false
		return nil
	}
	for d := addDays(c.swept, 1); !d.After(latest); d = addDays(d, 1) {
		events, err := c.due(d, c.partial[d], now)
		if err != nil {
			return err
		}
		done := complete(d, now)
		if checkpoint && done {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, events...)
		days = append(days, d)
		if done {
			s, err := swept(Swept{Date: d.String(), RegistrationsAfter: c.regAfter}, midnight(d, lastZone))
			if err != nil {
				return err
			}
			batch, checkpoint = append(batch, s), true
		}
	}
	if len(days) == 0 {
		return nil
	}
	return flush()
}

// complete tells whether day d's midnight has passed in every time zone.
func complete(d lifeevent.Date, now time.Time) bool { return !midnight(d, lastZone).After(now) }

// due builds the age.reached events of day d whose local midnight is in
// (since, now]; a zero since means from the start of the day.
func (c *Calendar) due(d lifeevent.Date, since, now time.Time) ([]eventstore.StreamAppend, error) {
	type candidate struct {
		id  string
		age int
	}
	var (
		candidates []candidate
		ids        []string
	)
	for _, age := range c.ages {
		for _, born := range bornOn(d, age) {
			for _, id := range c.register.BornOn(born.Year, born.Month, born.Day) {
				candidates = append(candidates, candidate{id, age})
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	people := c.register.People(ids...)
	var events []eventstore.StreamAppend
	for _, cand := range candidates {
		p, ok := people[cand.id]
		if !ok || p.Dead {
			continue
		}
		at := midnight(d, c.zones.of(p.TimeZone))
		if at.After(now) || (!since.IsZero() && !at.After(since)) {
			continue
		}
		e, err := ageReached(cand.id, cand.age, d, at, "")
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}
