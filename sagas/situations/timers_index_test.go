package situations

import (
	"testing"
	"time"
)

// midnight is the first instant of the local day, also where the clocks
// change at midnight.
func TestMidnightIsTheFirstInstantOfTheLocalDay(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Moscow", "Asia/Vladivostok", "America/Santiago", "America/Asuncion",
		"Asia/Beirut", "America/Havana", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Sao_Paulo", "Africa/Cairo"} {
		loc, ok := loadLocation(name)
		if !ok {
			t.Logf("no zone %s here", name)
			continue
		}
		for day := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2027; day = day.AddDate(0, 0, 1) {
			d := dateOf(day)
			at := d.midnight(loc)
			if got := dateOf(at.In(loc)); got != d {
				t.Fatalf("%s %v: midnight %v is on %v", name, d, at.In(loc), got)
			}
			if before := dateOf(at.Add(-time.Nanosecond).In(loc)); !before.before(d) {
				t.Fatalf("%s %v: the day had begun before %v", name, d, at.In(loc))
			}
		}
	}
}

func TestParseDateTakesOnlyDatesWrittenAsDates(t *testing.T) {
	if d, ok := parseDate("2026-03-01"); !ok || d != (date{2026, time.March, 1}) || d.next() != (date{2026, time.March, 2}) {
		t.Fatalf("2026-03-01: %v %v", d, ok)
	}
	if d, _ := parseDate("2024-02-28"); d.next() != (date{2024, time.February, 29}) {
		t.Fatalf("the day after 2024-02-28: %v", d.next())
	}
	for _, s := range []string{"", "2026-3-1", "2026-03-01T00:00:00Z", "01.03.2026", "2026-02-30"} {
		if _, ok := parseDate(s); ok {
			t.Errorf("%q parsed as a date", s)
		}
	}
}
