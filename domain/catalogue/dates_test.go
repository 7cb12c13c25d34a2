package catalogue

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestAgeOn29February(t *testing.T) {
	leapling := time.Date(2008, 2, 29, 0, 0, 0, 0, time.UTC)
	for on, want := range map[string]int{
		"2022-02-27": 13, "2022-02-28": 14, "2022-03-01": 14, // common year: the 28th
		"2024-02-28": 15, "2024-02-29": 16, // leap year: the 29th
	} {
		d, _ := parseDate(on)
		if got := ageOn(leapling, d); got != want {
			t.Errorf("age on %s = %d, want %d", on, got, want)
		}
	}
}

func TestAddMonthsClampsToTheMonthEnd(t *testing.T) {
	for from, want := range map[string]string{"2026-08-31": "2027-02-28", "2027-08-31": "2028-02-29", "2026-01-15": "2026-07-15"} {
		d, _ := parseDate(from)
		if got := formatDate(addMonths(d, 6)); got != want {
			t.Errorf("%s + 6 months = %s, want %s", from, got, want)
		}
	}
}

// exprCatalogue is a one-service catalogue whose prefill holds the
// expressions under test.
func exprCatalogue(t *testing.T, prefill map[string]string) (*Catalogue, Input) {
	t.Helper()
	var b strings.Builder
	for k, v := range prefill {
		b.WriteString("      " + k + ": '" + v + "'\n")
	}
	fsys := fstest.MapFS{"c.yaml": {Data: []byte(`version: x
events:
  e: {fields: [person_id, date]}
services:
  - id: s
    title: {ru: s, en: s}
    agency: a
    curator: {name: n, agency: a}
    mode: inform
    legal_basis: l
    prefill:
` + b.String() + `situations:
  - id: sit
    title: {ru: s, en: s}
    trigger: {event: e, date: event.date}
    window_days: 1
    applicant: event.person_id
    steps: [{service: s}]
`)}}
	cat, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat, Input{EventType: "e", Data: map[string]any{"person_id": "p", "date": "2023-02-28"},
		People: map[string]Person{"p": {BirthDate: "2008-02-29"}}, Today: day(t, "2023-03-01")}
}

func TestCustomFunctions(t *testing.T) {
	cat, in := exprCatalogue(t, map[string]string{
		"age":          `age(people[applicant].birth_date, event_date)`,
		"add_days":     `add_days(event_date, 1)`,
		"add_months":   `add_months("2026-08-31", 6)`,
		"days_between": `days_between("2024-02-28", "2024-03-01")`,
		"before":       `date_before("2024-01-01", event_date)`,
		"after":        `date_after("2024-01-01", event_date)`,
		"is_date":      `is_date("2023-02-30")`,
		"sum":          `sum([1.5, 2.5])`,
	})
	sit, _ := cat.Situation("sit")
	d, err := Decide(sit, in)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Steps[0].Prefill
	want := map[string]any{"age": int64(15), "add_days": "2023-03-01", "add_months": "2027-02-28", "days_between": int64(2),
		"before": false, "after": true, "is_date": false, "sum": 4.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if d.Steps[0].Outcome != OutcomeNotified {
		t.Fatalf("inform mode gives %s", d.Steps[0].Outcome)
	}
}

func TestMalformedDateIsAnErrorNotFalse(t *testing.T) {
	cat, in := exprCatalogue(t, map[string]string{"x": `date_before("2024-13-01", event_date)`})
	sit, _ := cat.Situation("sit")
	if _, err := Decide(sit, in); err == nil || !strings.Contains(err.Error(), "is not a date") {
		t.Fatalf("err %v", err)
	}
}

func TestCostLimitStopsRunawayExpressions(t *testing.T) {
	cat, in := exprCatalogue(t, map[string]string{"x": `lists.range(1000).map(i, lists.range(1000).map(j, i * j))`})
	sit, _ := cat.Situation("sit")
	if _, err := Decide(sit, in); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("err %v", err)
	}
}
