package situations

import (
	"sync"
	"time"
)

// date is a local calendar date, as the catalogue writes deadlines and
// reminders (time.DateOnly).
type date struct {
	year  int
	month time.Month
	day   int
}

// parseDate parses a date written exactly as time.DateOnly writes it, so
// that comparing dates is comparing their strings.
func parseDate(s string) (date, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return date{}, false
	}
	return dateOf(t), true
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

func (d date) before(e date) bool {
	if d.year != e.year {
		return d.year < e.year
	}
	if d.month != e.month {
		return d.month < e.month
	}
	return d.day < e.day
}

// next is the day after.
func (d date) next() date {
	return dateOf(time.Date(d.year, d.month, d.day+1, 0, 0, 0, 0, time.UTC))
}

// midnight is the first instant of day d in loc: the first instant whose
// local date is d or later.
func (d date) midnight(loc *time.Location) time.Time {
	begun := func(t time.Time) bool { return !dateOf(t.In(loc)).before(d) }
	t := time.Date(d.year, d.month, d.day, 0, 0, 0, 0, loc)
	if begun(t) && !begun(t.Add(-time.Nanosecond)) {
		return t
	}
	// A clock change at midnight (time.Date may pick either side of it):
	// search the instant. Local time is within a day of UTC everywhere.
	lo := time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC).Add(-48 * time.Hour)
	hi := lo.Add(96 * time.Hour)
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if begun(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// zones caches the time zones loaded: loading one reads the zone database.
var zones sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, bool) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, loc)
	return loc, true
}
