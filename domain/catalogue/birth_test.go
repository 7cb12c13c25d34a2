package catalogue

import (
	"strings"
	"testing"
)

// birthInput is a birth in region with a mother and, when fatherID is not
// empty, a father; extra people are added to the register.
func birthInput(t *testing.T, birthDate, region string, mother Person, father *Person, extra ...Person) Input {
	t.Helper()
	data := map[string]any{
		"record_number": "170-2026-001", "child_id": "child", "child_family_name": "Иванова",
		"child_given_name": "Анна", "birth_date": birthDate, "sex": "F", "mother_id": "mother",
		"region": region, "time_zone": "Europe/Moscow", "address": "ул. Ленина, 1",
	}
	mother.Children = append(mother.Children, "child")
	people := map[string]Person{"mother": mother, "child": {BirthDate: birthDate, Parents: []string{"mother"}}}
	if father != nil {
		data["father_id"] = "father"
		father.Children = append(father.Children, "child")
		people["father"] = *father
	}
	for _, p := range extra {
		people[p.ID] = p
	}
	return Input{EventType: "birth.registered", EventID: "ev-birth", Data: data, People: people, Today: day(t, birthDate).AddDate(0, 0, 3)}
}

func russianMother() Person {
	return Person{FamilyName: "Иванова", GivenName: "Мария", BirthDate: "1995-04-01", Sex: "F",
		Citizenship: "RU", Region: "RU-MOW", Address: "Москва, ул. Ленина, 1", TimeZone: "Europe/Moscow"}
}

func TestBirthBundlesEveryStepOfTheContract(t *testing.T) {
	in := birthInput(t, "2026-10-01", "RU-MOW", russianMother(), nil)
	d := decide(t, "birth-of-child", in)

	want := map[string]Outcome{
		"birth-certificate": OutcomeGranted, "child-snils": OutcomeGranted, "maternity-capital": OutcomeGranted,
		"child-allowance": OutcomeDrafted, "child-health-insurance": OutcomeDrafted,
		"residence-registration": OutcomeDrafted, "kindergarten-queue": OutcomeGranted,
	}
	if len(d.Steps) != len(want) {
		t.Fatalf("steps %v, want %d", keys(d), len(want))
	}
	for key, outcome := range want {
		s := stepByKey(t, d, key)
		wantOutcome(t, s, outcome)
		if s.Applicant != "mother" {
			t.Errorf("%s: applicant %q, want the mother", key, s.Applicant)
		}
		if s.Curator.Name == "" || s.Curator.Agency == "" || s.LegalBasis == "" {
			t.Errorf("%s: curator %+v, legal basis %q", key, s.Curator, s.LegalBasis)
		}
	}
	if d.Applicant != "mother" || d.EventDate != "2026-10-01" || d.CatalogueVersion == "" || d.CatalogueHash == "" {
		t.Fatalf("decision header %+v", d)
	}
	if b := stepByKey(t, d, "birth-certificate").Beneficiary; b != "child" {
		t.Fatalf("birth certificate beneficiary %q, want the child", b)
	}
	rr := stepByKey(t, d, "residence-registration")
	if rr.Prefill["address"] != "Москва, ул. Ленина, 1" {
		t.Fatalf("residence registration is not pre-filled with the mother's address: %v", rr.Prefill)
	}
	if rr.Deadline != "2027-01-02" { // 90 days from the decision on 2026-10-04
		t.Fatalf("residence registration deadline %s", rr.Deadline)
	}
	kq := stepByKey(t, d, "kindergarten-queue")
	if !kq.OptOut || kq.Prefill["region"] != "RU-MOW" || kq.Registry != "kindergarten-queue" {
		t.Fatalf("kindergarten queue: opt-out %v, prefill %v, registry %q", kq.OptOut, kq.Prefill, kq.Registry)
	}
	if got := strings.Join(d.Participants, ","); got != "mother,child" {
		t.Fatalf("participants %s", got)
	}
}

func TestMaternityCapital(t *testing.T) {
	olderChild := Person{ID: "older", BirthDate: "2017-03-03", Parents: []string{"mother"}}
	withOlder := func(p Person) Person { p.Children = []string{"older"}; return p }
	foreign := russianMother()
	foreign.Citizenship = "UZ"
	granted := russianMother()
	granted.Granted = []string{"maternity-capital"}

	tests := []struct {
		name       string
		birthDate  string
		mother     Person
		outcome    Outcome
		reasons    []string
		amount     float64
		validFrom  string
		childOrder int64
	}{
		{name: "first child born 2020-01-01", birthDate: "2020-01-01", mother: russianMother(),
			outcome: OutcomeGranted, amount: 466617, validFrom: "2020-01-01", childOrder: 1},
		{name: "first child born 2019-12-31", birthDate: "2019-12-31", mother: russianMother(),
			outcome: OutcomeRejected, reasons: []string{"first-child-since-2020-or-later-child"}},
		{name: "second child born 2025", birthDate: "2025-06-01", mother: withOlder(russianMother()),
			outcome: OutcomeGranted, amount: 912162.09, validFrom: "2025-01-01", childOrder: 2},
		{name: "second child born 2019 gets the base amount", birthDate: "2019-06-01", mother: withOlder(russianMother()),
			outcome: OutcomeGranted, amount: 453026, validFrom: "2015-01-01", childOrder: 2},
		{name: "first child 2026", birthDate: "2026-03-01", mother: russianMother(),
			outcome: OutcomeGranted, amount: 728921.90, validFrom: "2026-01-01", childOrder: 1},
		{name: "mother not a citizen", birthDate: "2025-06-01", mother: withOlder(foreign),
			outcome: OutcomeRejected, reasons: []string{"citizen"}},
		{name: "already granted", birthDate: "2025-06-01", mother: withOlder(granted),
			outcome: OutcomeRejected, reasons: []string{"not-granted-before"}},
		{name: "every failing criterion is listed", birthDate: "2019-05-01", mother: func() Person {
			p := foreign
			p.Granted = []string{"maternity-capital"}
			return p
		}(), outcome: OutcomeRejected, reasons: []string{"citizen", "not-granted-before", "first-child-since-2020-or-later-child"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := birthInput(t, tc.birthDate, "RU-MOW", tc.mother, nil, olderChild)
			s := stepByKey(t, decide(t, "birth-of-child", in), "maternity-capital")
			wantOutcome(t, s, tc.outcome)
			wantReasons(t, s, ReasonRule, tc.reasons...)
			if tc.outcome == OutcomeRejected {
				if len(s.Prefill) != 0 {
					t.Fatalf("a rejection carries no grant details: %v", s.Prefill)
				}
				return
			}
			if s.Prefill["amount"] != tc.amount || s.Prefill["child_order"] != tc.childOrder {
				t.Fatalf("amount %v (order %v), want %v (order %d)", s.Prefill["amount"], s.Prefill["child_order"], tc.amount, tc.childOrder)
			}
			if s.Beneficiary != "mother" || s.Registry != "maternity-capital" {
				t.Fatalf("beneficiary %q registry %q", s.Beneficiary, s.Registry)
			}
			if len(s.Parameters) != 1 || s.Parameters[0].ValidFrom != tc.validFrom || s.Parameters[0].Value != tc.amount {
				t.Fatalf("recorded parameters %+v", s.Parameters)
			}
		})
	}
}

func TestMaternityCapitalReasonIsInPlainWords(t *testing.T) {
	foreign := russianMother()
	foreign.Citizenship = "BY"
	in := birthInput(t, "2025-06-01", "RU-MOW", foreign, nil)
	s := stepByKey(t, decide(t, "birth-of-child", in), "maternity-capital")
	text := reasonText(s)
	if !strings.Contains(text, "не является гражданкой Российской Федерации") || !strings.Contains(text, "not a citizen of the Russian Federation") {
		t.Fatalf("reason %q", text)
	}
	if !strings.Contains(s.Reasons[0].LegalBasis, "256-ФЗ") {
		t.Fatalf("legal basis %q", s.Reasons[0].LegalBasis)
	}
}

func TestMaternityCapitalUsesTheAmountInForceOnTheBirthDateNotToday(t *testing.T) {
	in := birthInput(t, "2025-12-20", "RU-MOW", russianMother(), nil)
	in.Today = day(t, "2026-02-10")
	s := stepByKey(t, decide(t, "birth-of-child", in), "maternity-capital")
	if s.Prefill["amount"] != 690266.44 {
		t.Fatalf("amount %v, want the 2025 amount 690266.44", s.Prefill["amount"])
	}
	p := paramUsed(t, s, "maternity-capital.amount-first-child")
	if p.ValidFrom != "2025-01-01" || p.ValidTo != "2025-12-31" {
		t.Fatalf("recorded %+v", p)
	}
}

func TestChildAllowance(t *testing.T) {
	// RU-TAT in 2025: 15 473 roubles per capita a month. Mother, father and
	// the newborn: 3 people, so the threshold is 15473*12*3 = 557 028 a year.
	const threshold = 15473 * 12 * 3
	mother := func(incomes map[string]float64) Person {
		p := russianMother()
		p.Region = "RU-TAT"
		p.Incomes = incomes
		return p
	}
	father := func(incomes map[string]float64) *Person {
		return &Person{FamilyName: "Иванов", Citizenship: "RU", Region: "RU-TAT", Incomes: incomes}
	}
	tests := []struct {
		name      string
		mother    Person
		father    *Person
		outcome   Outcome
		rules     []string
		notes     int
		perCapita any
	}{
		{name: "below the minimum", mother: mother(map[string]float64{"2024": threshold - 1}), father: father(nil),
			outcome: OutcomeDrafted, perCapita: 15472.97},
		{name: "at the minimum", mother: mother(map[string]float64{"2024": threshold - 100}), father: father(map[string]float64{"2024": 100}),
			outcome: OutcomeRejected, rules: []string{"income-below-subsistence-minimum"}},
		{name: "above the minimum", mother: mother(map[string]float64{"2024": 400000}), father: father(map[string]float64{"2024": 400000}),
			outcome: OutcomeRejected, rules: []string{"income-below-subsistence-minimum"}},
		{name: "no income data", mother: mother(nil), father: father(nil),
			outcome: OutcomeDrafted, notes: 1, perCapita: 0.0},
		{name: "latest year reported by either parent", mother: mother(map[string]float64{"2025": 120000}),
			father: father(map[string]float64{"2023": 5000000}), outcome: OutcomeDrafted, perCapita: 3333.33},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := birthInput(t, "2025-08-15", "RU-TAT", tc.mother, tc.father)
			s := stepByKey(t, decide(t, "birth-of-child", in), "child-allowance")
			wantOutcome(t, s, tc.outcome)
			wantReasons(t, s, ReasonRule, tc.rules...)
			notes := 0
			for _, r := range s.Reasons {
				if r.Kind == ReasonNote {
					notes++
					if !strings.Contains(r.Text.EN, "no income data") {
						t.Fatalf("note %q", r.Text.EN)
					}
				}
			}
			if notes != tc.notes {
				t.Fatalf("notes %d, want %d: %+v", notes, tc.notes, s.Reasons)
			}
			p := paramUsed(t, s, "subsistence-minimum.per-capita")
			if p.Value != 15473.0 || p.Key != "RU-TAT" || p.ValidFrom != "2025-01-01" {
				t.Fatalf("threshold recorded %+v", p)
			}
			if s.Values["subsistence_minimum"] != 15473.0 {
				t.Fatalf("values %v", s.Values)
			}
			if tc.outcome == OutcomeDrafted {
				if s.Prefill["per_capita_income"] != tc.perCapita || s.Prefill["household_size"] != int64(3) {
					t.Fatalf("prefill %v", s.Prefill)
				}
				if s.Deadline != "2026-02-11" { // 180 days from the birth
					t.Fatalf("deadline %s", s.Deadline)
				}
			}
		})
	}
}

func TestChildAllowanceHousehold(t *testing.T) {
	// Mother with a 10-year-old, a 19-year-old and a child who died; the
	// father unknown: household = mother, 10-year-old, newborn.
	m := russianMother()
	m.Region = "RU-NVS"
	m.Children = []string{"ten", "adult", "dead"}
	m.Incomes = map[string]float64{"2025": 12 * 3 * 10000}
	in := birthInput(t, "2026-05-01", "RU-NVS", m, nil,
		Person{ID: "ten", BirthDate: "2016-01-01"},
		Person{ID: "adult", BirthDate: "2007-01-01"},
		Person{ID: "dead", BirthDate: "2020-01-01", Dead: true},
	)
	s := stepByKey(t, decide(t, "birth-of-child", in), "child-allowance")
	if s.Prefill["household_size"] != int64(3) || s.Prefill["per_capita_income"] != 10000.0 {
		t.Fatalf("prefill %v", s.Prefill)
	}
	wantOutcome(t, s, OutcomeDrafted)
}

func TestChildAllowanceRegionalMinimumInForceOnTheBirthDate(t *testing.T) {
	// The minimum was raised by 10 % on 2022-06-01; an unlisted region uses
	// the federal (default) value.
	m := russianMother()
	m.Region = "RU-KDA"
	for _, tc := range []struct {
		birth string
		want  float64
		from  string
	}{
		{"2022-05-31", 12654, "2022-01-01"},
		{"2022-06-01", 13919, "2022-06-01"},
	} {
		in := birthInput(t, tc.birth, "RU-KDA", m, nil)
		in.Today = day(t, "2022-10-01")
		s := stepByKey(t, decide(t, "birth-of-child", in), "child-allowance")
		p := paramUsed(t, s, "subsistence-minimum.per-capita")
		if p.Value != tc.want || p.Region != "RU-KDA" || p.Key != DefaultRegion || p.ValidFrom != tc.from {
			t.Fatalf("birth %s: recorded %+v, want %v from %s", tc.birth, p, tc.want, tc.from)
		}
	}
}
