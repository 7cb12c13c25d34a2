package catalogue

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Match reports whether the event meets the situation's trigger condition.
func Match(sit *Situation, in Input) (bool, error) {
	if sit != nil && sit.cat != nil && sit.condition == nil && in.EventDate != "" {
		// No condition: only the date given can fail, as newEvaluation
		// would check it.
		if _, err := parseDate(in.EventDate); err == nil {
			return true, nil
		}
	}
	ev, err := newEvaluation(sit, in)
	if err != nil {
		return false, err
	}
	return ev.evalBool(sit.condition, ev.newActivation(nil, ev.recorder(nil)))
}

// Decide evaluates every step of the situation for the event: which steps
// apply, for whom, with which outcome and why. It is pure: the same
// catalogue and input give the same decision. It does not look at the
// situation's window (see InWindow); an event that does not meet the
// trigger condition gives ErrNotTriggered.
func Decide(sit *Situation, in Input) (Decision, error) {
	if in.Today.IsZero() {
		return Decision{}, fmt.Errorf("situation %q: input has no today", sit.ID)
	}
	ev, err := newEvaluation(sit, in)
	if err != nil {
		return Decision{}, err
	}
	rec := ev.recorder(nil)
	base := ev.newActivation(nil, rec)
	ok, err := ev.evalBool(sit.condition, base)
	if err != nil {
		return Decision{}, fmt.Errorf("situation %q: %w", sit.ID, err)
	}
	if !ok {
		return Decision{}, fmt.Errorf("situation %q, event %s: %w", sit.ID, in.EventID, ErrNotTriggered)
	}
	d := ev.header()
	if d.Applicant, err = ev.evalString(sit.applicant, base); err != nil {
		return Decision{}, fmt.Errorf("situation %q: %w", sit.ID, err)
	}
	beneficiary := ""
	if sit.beneficiary != nil {
		if beneficiary, err = ev.evalString(sit.beneficiary, base); err != nil {
			return Decision{}, fmt.Errorf("situation %q: %w", sit.ID, err)
		}
	}
	d.Participants = []string{d.Applicant}
	if sit.participants != nil {
		if d.Participants, err = ev.evalIDs(sit.participants, base); err != nil {
			return Decision{}, fmt.Errorf("situation %q: %w", sit.ID, err)
		}
	}
	if sit.withdraws != nil {
		if d.WithdrawDraftsOf, err = ev.evalIDs(sit.withdraws, base); err != nil {
			return Decision{}, fmt.Errorf("situation %q: %w", sit.ID, err)
		}
	}
	scope := stepScope{applicant: d.Applicant, beneficiary: beneficiary}
	for _, st := range sit.Steps {
		steps, err := ev.step(st, scope)
		if err != nil {
			return Decision{}, fmt.Errorf("situation %q: step %q: %w", sit.ID, st.ID, err)
		}
		d.Steps = append(d.Steps, steps...)
	}
	d.Parameters = rec.uses
	return d, nil
}

// DecideFollowUps decides the services offered once parent (a step decided
// for this situation and event) was confirmed or granted. fields are the
// confirmed corrections; expressions see `parent` = {service, step, key,
// applicant, beneficiary, item, fields}, where fields is the prefill with
// the corrections applied. Follow-ups default to the parent's applicant and
// beneficiary.
func DecideFollowUps(sit *Situation, parent StepDecision, fields map[string]any, in Input) (Decision, error) {
	if in.Today.IsZero() {
		return Decision{}, fmt.Errorf("situation %q: input has no today", sit.ID)
	}
	st, err := findStep(sit, parent.Step)
	if err != nil {
		return Decision{}, err
	}
	ev, err := newEvaluation(sit, in)
	if err != nil {
		return Decision{}, err
	}
	merged := map[string]any{}
	for k, v := range parent.Prefill {
		merged[k] = v
	}
	for k, v := range fields {
		merged[k] = v
	}
	merged = normalizeData(merged).(map[string]any)
	scope := stepScope{
		keyPrefix:   parent.Key + "/",
		pathPrefix:  parent.Step + "/",
		applicant:   parent.Applicant,
		beneficiary: parent.Beneficiary,
		parent: map[string]any{
			"service":     parent.Service,
			"step":        parent.Step,
			"key":         parent.Key,
			"applicant":   parent.Applicant,
			"beneficiary": parent.Beneficiary,
			"item":        normalizeData(parent.Item),
			"fields":      merged,
		},
	}
	d := ev.header()
	d.Applicant = parent.Applicant
	d.Participants = []string{parent.Applicant}
	for _, f := range st.FollowUps {
		steps, err := ev.step(f, scope)
		if err != nil {
			return Decision{}, fmt.Errorf("situation %q: follow-up %q of %q: %w", sit.ID, f.ID, parent.Key, err)
		}
		d.Steps = append(d.Steps, steps...)
	}
	return d, nil
}

func (ev *evaluation) header() Decision {
	return Decision{
		Situation:        ev.sit.ID,
		Title:            ev.sit.Title,
		CatalogueVersion: ev.cat.version,
		CatalogueHash:    ev.cat.hash,
		EventType:        ev.in.EventType,
		EventID:          ev.in.EventID,
		EventDate:        ev.eventDate,
		Today:            ev.today,
		Steps:            []StepDecision{},
	}
}

func findStep(sit *Situation, path string) (*Step, error) {
	steps := sit.Steps
	var found *Step
	for _, id := range strings.Split(path, "/") {
		found = nil
		for _, st := range steps {
			if st.ID == id {
				found = st
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("situation %q has no step %q", sit.ID, path)
		}
		steps = found.FollowUps
	}
	return found, nil
}

// deadline returns the deadline's start (the event date or the decision's
// day) and the deadline itself.
func (ev *evaluation) deadline(dl *Deadline, rec *recorder) (time.Time, time.Time, error) {
	startDate := ev.eventDate
	if dl.From == "decision" {
		startDate = ev.today
	}
	start, err := parseDate(startDate)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	n, unit := dl.Days, "days"
	switch {
	case dl.Months > 0:
		n, unit = dl.Months, "months"
	case dl.Param != "":
		use, err := rec.lookup(dl.Param, "")
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("deadline: %w", err)
		}
		v, ok := use.Value.(int64)
		if !ok {
			return time.Time{}, time.Time{}, fmt.Errorf("deadline: parameter %q is not an integer", dl.Param)
		}
		n, unit = int(v), dl.Unit
	}
	if unit == "months" {
		return start, addMonths(start, n), nil
	}
	return start, start.AddDate(0, 0, n), nil
}

// reminders returns the reminder dates still ahead on the decision's day
// and not after the deadline, in order.
func (ev *evaluation) reminders(rs []Reminder, start, deadline time.Time) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		t := start.AddDate(0, 0, r.After)
		if r.before {
			t = deadline.AddDate(0, 0, -r.Before)
		}
		s := formatDate(t)
		if s <= ev.today || t.After(deadline) || t.Before(start) || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
