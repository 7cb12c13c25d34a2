package catalogue

import (
	"fmt"
	"time"
)

const dateLayout = "2006-01-02"

// parseDate reads a calendar date (YYYY-MM-DD). Dates carry no time zone:
// the zone matters only when deciding which day it is, and that is the
// caller's business (see InWindow).
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return time.Time{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return t, nil
}

func formatDate(t time.Time) string { return t.Format(dateLayout) }

// dayOf is the calendar date of t in its own location.
func dayOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// birthdayIn is the day someone born on birth has their birthday in year.
// Someone born on 29 February reaches an age on 28 February in common years.
func birthdayIn(birth time.Time, year int) time.Time {
	if birth.Month() == time.February && birth.Day() == 29 && !isLeap(year) {
		return time.Date(year, time.February, 28, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(year, birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
}

// ageOn is the age in full years on the given day.
func ageOn(birth, on time.Time) int {
	age := on.Year() - birth.Year()
	if on.Before(birthdayIn(birth, on.Year())) {
		age--
	}
	return age
}

// addMonths moves by whole months, clamping to the last day of the target
// month: six months after 31 August is 28 (or 29) February, not 3 March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, time.UTC)
}

func daysBetween(from, to time.Time) int {
	return int(to.Sub(from).Hours() / 24)
}
