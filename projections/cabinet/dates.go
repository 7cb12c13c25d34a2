package cabinet

import "time"

const (
	dateLayout = "2006-01-02"
	adultAge   = 18
)

// minorOn reports whether someone born on birth (YYYY-MM-DD) is under 18
// on the day of t, in t's location. An unreadable birth date is not a
// minor's: it grants no one a parent's view.
func minorOn(birth string, t time.Time) bool {
	b, err := time.Parse(dateLayout, birth)
	if err != nil {
		return false
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Before(birthdayIn(b, b.Year()+adultAge))
}

// birthdayIn is the day someone born on birth has their birthday in year:
// someone born on 29 February reaches an age on 28 February in common years.
func birthdayIn(birth time.Time, year int) time.Time {
	if birth.Month() == time.February && birth.Day() == 29 && !isLeap(year) {
		return time.Date(year, time.February, 28, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(year, birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
}

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

var monthsRU = [...]string{"января", "февраля", "марта", "апреля", "мая", "июня",
	"июля", "августа", "сентября", "октября", "ноября", "декабря"}

// spoken writes a date (YYYY-MM-DD) as people say it: "1 июня 2026" and
// "1 June 2026"; an unreadable one as it is.
func spoken(date string) (ru, en string) {
	t, err := time.Parse(dateLayout, date)
	if err != nil {
		return date, date
	}
	return t.Format("2") + " " + monthsRU[t.Month()-1] + " " + t.Format("2006"), t.Format("2 January 2006")
}
