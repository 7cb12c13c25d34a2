package calendar

import (
	"time"

	"lifesituations/domain/lifeevent"
)

// lastZone is where a date begins last on Earth (UTC-12): a day is swept
// for good once its midnight there has passed.
var lastZone = time.FixedZone("UTC-12", -12*60*60)

// midnight is the instant date begins in loc.
func midnight(d lifeevent.Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

func addDays(d lifeevent.Date, n int) lifeevent.Date {
	return lifeevent.DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// daysBetween counts the days from a to b.
func daysBetween(a, b lifeevent.Date) int {
	return int(midnight(b, time.UTC).Sub(midnight(a, time.UTC)).Hours() / 24)
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// milestone is the day someone born on birth reaches age: the birthday of
// that year, or 28 February in a common year for someone born on
// 29 February.
func milestone(birth lifeevent.Date, age int) lifeevent.Date {
	d := lifeevent.Date{Year: birth.Year + age, Month: birth.Month, Day: birth.Day}
	if d.Month == time.February && d.Day == 29 && !isLeap(d.Year) {
		d.Day = 28
	}
	return d
}

// bornOn lists the birth dates that reach age on day d: that date age years
// before, and 29 February too when d is 28 February of a common year.
func bornOn(d lifeevent.Date, age int) []lifeevent.Date {
	dates := []lifeevent.Date{{Year: d.Year - age, Month: d.Month, Day: d.Day}}
	if d.Month == time.February && d.Day == 28 && !isLeap(d.Year) {
		dates = append(dates, lifeevent.Date{Year: d.Year - age, Month: time.February, Day: 29})
	}
	return dates
}

// zones caches time zones: loading one reads the zone database.
type zones map[string]*time.Location

// of is the person's zone. An unknown zone (ingest validates them, so only
// a zone database older than the registry's) counts as the last zone on
// Earth: a birthday then fires late, never early.
func (z zones) of(name string) *time.Location {
	if loc, ok := z[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		loc = lastZone
	}
	z[name] = loc
	return loc
}
