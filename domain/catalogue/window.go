package catalogue

import (
	"fmt"
	"time"
)

// InWindow reports whether an event of eventDate may still open the
// situation on today: an event older than the window updates the register
// but opens nothing. The window is inclusive (an event exactly WindowDays
// old still opens the situation). today's date is taken in its own
// location: pass it in the person's time zone.
func InWindow(sit *Situation, eventDate string, today time.Time) (bool, error) {
	d, err := parseDate(eventDate)
	if err != nil {
		return false, fmt.Errorf("situation %q: %w", sit.ID, err)
	}
	return daysBetween(d, dayOf(today)) <= sit.WindowDays, nil
}

// EventDate computes the life event's date from the trigger's data with the
// situation's trigger date expression (e.g. a birth's birth_date).
func (s *Situation) EventDate(data map[string]any) (string, error) {
	ev := &evaluation{sit: s, cat: s.cat, data: map[string]any{}, people: map[string]Person{}, noParent: map[string]any{}}
	if m, ok := normalizeData(data).(map[string]any); ok {
		ev.data = m
	}
	ev.setEventDate("")
	d, err := ev.evalString(s.date, ev.newActivation(nil, ev.recorder(nil)))
	if err != nil {
		return "", fmt.Errorf("situation %q: event date: %w", s.ID, err)
	}
	if _, err := parseDate(d); err != nil {
		return "", fmt.Errorf("situation %q: event date: %w", s.ID, err)
	}
	return d, nil
}
