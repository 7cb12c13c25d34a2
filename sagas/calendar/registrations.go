package calendar

import (
	"context"
	"fmt"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// registrations selects the events that make a person known.
var registrations = eventstore.Filter{TypePrefixes: []string{
	string(lifeevent.PersonRegistered), string(lifeevent.BirthRegistered),
}}

// Run follows the log's registrations from the checkpoint and fires at once
// the milestone of a person registered after it but inside its window. It
// blocks until ctx is done or appending fails; Tick catches up whatever Run
// has not handled, so Run only makes the late milestone immediate.
func (c *Calendar) Run(ctx context.Context) error {
	c.mu.Lock()
	err := c.load(ctx, c.clock.Now())
	after := c.regAfter
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	err = c.store.SubscribeAll(ctx, after, registrations, func(ev eventstore.RecordedEvent) error {
		if err := c.register.WaitFor(ctx, ev.Position); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if ev.Position <= c.regAfter {
			return nil // a Tick handled it
		}
		events, err := c.registered(ev, c.clock.Now())
		if err != nil {
			return err
		}
		if err := c.appendAll(ctx, events, nil); err != nil {
			return fmt.Errorf("late milestones of registration %s: %w", ev.ID, err)
		}
		c.regAfter = ev.Position
		return nil
	})
	return fmt.Errorf("calendar: registrations after %d: %w", after, err)
}

// catchUpRegistrations handles the registrations up to position upTo, which
// the register has folded, a page at a time.
func (c *Calendar) catchUpRegistrations(ctx context.Context, upTo eventstore.Position, now time.Time) error {
	const page = 1000
	for c.regAfter < upTo {
		evs, err := c.store.ReadAll(ctx, c.regAfter, registrations, page)
		if err != nil {
			return fmt.Errorf("read registrations after %d: %w", c.regAfter, err)
		}
		reached := c.regAfter
		var late []eventstore.StreamAppend
		for _, ev := range evs {
			if ev.Position > upTo {
				break
			}
			events, err := c.registered(ev, now)
			if err != nil {
				return err
			}
			late = append(late, events...)
			reached = ev.Position
		}
		if len(evs) < page || evs[len(evs)-1].Position > upTo {
			reached = upTo // no registration left up to upTo
		}
		if err := c.appendAll(ctx, late, nil); err != nil {
			return fmt.Errorf("late milestones of registrations after %d: %w", c.regAfter, err)
		}
		c.regAfter = reached
	}
	return nil
}

// registered builds the age.reached events of a newly known person's
// milestones that fell within the window before today (in their time zone):
// those the sweep of their birthday could not fire because the register did
// not know them yet. When the sweep did fire one, appending it again is a
// no-op.
func (c *Calendar) registered(ev eventstore.RecordedEvent, now time.Time) ([]eventstore.StreamAppend, error) {
	payload, err := lifeevent.Decode(lifeevent.Type(ev.Type), ev.Data)
	if err != nil {
		return nil, fmt.Errorf("registration %s at %d: %w", ev.ID, ev.Position, err)
	}
	var id string
	switch d := payload.(type) {
	case *lifeevent.PersonRegisteredData:
		id = d.PersonID.String()
	case *lifeevent.BirthRegisteredData:
		id = d.ChildID.String()
	default:
		return nil, nil
	}
	// The register's facts, not the event's: the person may have moved or
	// died since.
	p, ok := c.register.People(id)[id]
	if !ok || p.Dead {
		return nil, nil
	}
	birth, err := lifeevent.ParseDate(p.BirthDate)
	if err != nil {
		return nil, nil // validated at ingest; a register without it has nothing to fire
	}
	loc := c.zones.of(p.TimeZone)
	today := lifeevent.DateOf(now.In(loc))
	var events []eventstore.StreamAppend
	for _, age := range c.ages {
		m := milestone(birth, age)
		if m.After(today) || daysBetween(m, today) > c.window {
			continue
		}
		e, err := ageReached(id, age, m, midnight(m, loc), ev.ID.String())
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}
