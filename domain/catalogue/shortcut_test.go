package catalogue

import (
	"encoding/json"
	"reflect"
	"testing"

	defaultcatalogue "lifesituations/domain/catalogue/default"
)

// withoutShortcuts loads the default catalogue afresh (Default's is shared)
// with every expression left to the interpreter.
func withoutShortcuts(t *testing.T) *Catalogue {
	t.Helper()
	cat, err := Load(defaultcatalogue.FS)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(es ...*expr) {
		for _, e := range es {
			if e != nil {
				e.short = shortcut{}
			}
		}
	}
	var steps func([]*Step)
	steps = func(sts []*Step) {
		for _, st := range sts {
			eff := &st.eff
			strip(eff.appliesWhen, eff.forEach, eff.applicant, eff.beneficiary)
			for _, b := range append(append([]binding(nil), eff.lets...), eff.prefill...) {
				strip(b.e)
			}
			for _, r := range eff.rules {
				strip(r.condition)
			}
			for _, n := range eff.notes {
				strip(n.condition)
			}
			steps(st.FollowUps)
		}
	}
	for _, s := range cat.situations {
		strip(s.condition, s.date, s.applicant, s.beneficiary, s.participants, s.withdraws)
		steps(s.Steps)
	}
	return cat
}

func TestShortcutsDecideAsTheInterpreter(t *testing.T) {
	fast, slow := defaultCatalogue(t), withoutShortcuts(t)
	m := russianMother()
	m.Incomes = map[string]float64{"2024": 400000, "2025": 900000}
	cases := []struct {
		situation string
		in        Input
	}{
		{"birth-of-child", benchBirth()},
		{"birth-of-child", birthInput(t, "2026-10-01", "RU-MOW", russianMother(), nil)},
		{"birth-of-child", birthInput(t, "2019-10-01", "RU-SPE", m, &Person{Incomes: map[string]float64{"2025": 2e6}})},
		{"marriage", marriageInput(t, map[string]any{"boris": "Смирнов", "anna": "Котова"})},
		{"age-milestone", milestoneInput(t, 14, "2026-03-10", "2026-03-10", "RU")},
		{"age-milestone", milestoneInput(t, 20, "2026-03-10", "2026-03-10", "UA")},
		{"move", moveInput(t, "RU-MOW", "RU-TAT", adult(), Person{ID: "kid", BirthDate: "2015-01-01"})},
		{"bereavement", deathInput(t, map[string]Person{
			"dead":      {FamilyName: "Орлов", GivenName: "Иван", BirthDate: "1980-01-01", Dead: true, Children: []string{"kid"}},
			"informant": {FamilyName: "Орлова", GivenName: "Вера", BirthDate: "1982-01-01"},
			"kid":       {BirthDate: "2016-05-05", Parents: []string{"dead"}},
		})},
	}
	for _, c := range cases {
		fs, _ := fast.Situation(c.situation)
		ss, _ := slow.Situation(c.situation)
		got, err := Decide(fs, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.situation, err)
		}
		want, err := Decide(ss, c.in)
		if err != nil {
			t.Fatalf("%s without shortcuts: %v", c.situation, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decisions differ:\n%+v\n%+v", c.situation, got, want)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("%s: encodings differ:\n%s\n%s", c.situation, gj, wj)
		}
	}
}

func TestShortcutsRecognized(t *testing.T) {
	cat := defaultCatalogue(t)
	sit, _ := cat.Situation("birth-of-child")
	kinds := map[string]shortKind{}
	for _, st := range sit.Steps {
		for _, b := range st.eff.prefill {
			kinds[b.e.src] = b.e.short.kind
		}
	}
	want := map[string]shortKind{
		"event.child_id": shortEventField, "applicant": shortVariable, `"RUB"`: shortLiteral,
		"household_size": shortVariable, "size(other_children) + 1": shortNone,
		`has(event.father_id) ? event.father_id : ""`: shortNone, "people[applicant].address": shortNone,
	}
	for src, k := range want {
		if got, ok := kinds[src]; !ok || got != k {
			t.Errorf("%s: shortcut %d (found %v), want %d", src, got, ok, k)
		}
	}
}
