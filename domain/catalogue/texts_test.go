package catalogue

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestReasonShowsTheFiguresUsed(t *testing.T) {
	m := russianMother()
	m.Region = "RU-TAT"
	m.Incomes = map[string]float64{"2024": 12 * 2 * 20000.5}
	in := birthInput(t, "2025-08-15", "RU-TAT", m, nil)
	s := stepByKey(t, decide(t, "birth-of-child", in), "child-allowance")
	wantOutcome(t, s, OutcomeRejected)
	r := s.Reasons[0].Text
	for _, want := range []string{"income for 2024", "20,000.50 roubles a month", "480,012.00 roubles a year for 2 persons", "15,473.00", "RU-TAT", "2025-08-15"} {
		if !strings.Contains(r.EN, want) {
			t.Errorf("en reason lacks %q: %s", want, r.EN)
		}
	}
	for _, want := range []string{"за 2024 год", "20\u00a0000,50 ₽", "15\u00a0473,00 ₽"} {
		if !strings.Contains(r.RU, want) {
			t.Errorf("ru reason lacks %q: %s", want, r.RU)
		}
	}
	if strings.Contains(r.RU+r.EN, "{{") {
		t.Errorf("unfilled placeholder: %s / %s", r.RU, r.EN)
	}
}

func TestPlaceholderMustNameAVariable(t *testing.T) {
	fsys := fstest.MapFS{"c.yaml": {Data: []byte(`version: "1"
events:
  x.happened: {fields: [person_id]}
situations:
  - id: s
    title: {ru: s, en: s}
    trigger: {event: x.happened, date: '"2026-01-01"'}
    window_days: 1
    applicant: event.person_id
    steps: [{service: a}]
services:
  - id: a
    title: {ru: a, en: a}
    agency: A
    curator: {name: N, agency: A}
    mode: inform
    legal_basis: L
    let: {known: '1'}
    rules:
      - condition: 'known > 0'
        reason: {ru: '{{known}} и {{unknown}}', en: '{{ known }}'}
        legal_basis: L
`)}}
	_, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), "unknown") || strings.Contains(err.Error(), "{{known}}") {
		t.Fatalf("want a load error naming {{unknown}} only, got %v", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v      any
		ru, en string
	}{
		{int64(28052), "28\u00a0052", "28,052"},
		{int64(-1234567), "-1\u00a0234\u00a0567", "-1,234,567"},
		{int64(999), "999", "999"},
		{28052.0, "28\u00a0052,00", "28,052.00"},
		{0.5, "0,50", "0.50"},
		{"RU-MOW", "RU-MOW", "RU-MOW"},
		{[]any{"a", int64(1000)}, "a, 1\u00a0000", "a, 1,000"},
	} {
		if got := formatValue(tc.v, "ru"); got != tc.ru {
			t.Errorf("%v in ru: %q, want %q", tc.v, got, tc.ru)
		}
		if got := formatValue(tc.v, "en"); got != tc.en {
			t.Errorf("%v in en: %q, want %q", tc.v, got, tc.en)
		}
	}
}
