package cabinet

import (
	"testing"
	"time"
)

func TestMinorOn(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(dateLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(12 * time.Hour)
	}
	for _, c := range []struct {
		birth, on string
		minor     bool
	}{
		{"2008-03-01", "2026-02-28", true},
		{"2008-03-01", "2026-03-01", false},
		// Born on 29 February: 18 on 28 February of a common year.
		{"2008-02-29", "2026-02-27", true},
		{"2008-02-29", "2026-02-28", false},
		{"2010-02-28", "2028-02-27", true},
		{"2010-02-29", "2026-01-01", false}, // not a date: nobody's minor
	} {
		if got := minorOn(c.birth, day(c.on)); got != c.minor {
			t.Errorf("born %s, on %s: minor %v, want %v", c.birth, c.on, got, c.minor)
		}
	}
	// The day counts in the instant's own location.
	moscow := time.FixedZone("MSK", 3*3600)
	if minorOn("2008-03-01", time.Date(2026, 2, 28, 22, 0, 0, 0, time.UTC).In(moscow)) {
		t.Error("22:00 UTC on 28 February is 1 March in Moscow: an adult there")
	}
}
