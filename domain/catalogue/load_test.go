package catalogue

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// A small valid catalogue; each test below breaks one file of it.
const (
	baseCatalogue = `version: "t1"
events:
  birth.registered:
    fields: [child_id, mother_id, birth_date, region]
`
	baseParams = `parameters:
  - name: amount
    type: number
    values:
      - {valid_from: 2020-01-01, valid_to: 2020-12-31, value: 100}
      - {valid_from: 2021-01-01, value: 200}
  - name: minimum
    type: number
    keyed_by: region
    values:
      - {region: default, valid_from: 2020-01-01, value: 10}
  - name: days
    type: int
    values:
      - {valid_from: 2020-01-01, value: 30}
`
	baseServices = `services:
  - id: allowance
    title: {ru: Пособие, en: Allowance}
    agency: СФР
    curator: {name: Иванов И. И., agency: СФР}
    mode: draft
    legal_basis: закон
    rules:
      - condition: people[applicant].citizenship == "RU"
        reason: {ru: нет, en: no}
        legal_basis: закон
    prefill:
      amount: param("amount")
    deadline: {param: days}
  - id: notice
    title: {ru: Уведомление, en: Notice}
    agency: СФР
    curator: {name: Иванов И. И., agency: СФР}
    mode: inform
    legal_basis: закон
`
	baseSituations = `situations:
  - id: birth
    title: {ru: Рождение, en: Birth}
    trigger:
      event: birth.registered
      date: event.birth_date
    window_days: 180
    applicant: event.mother_id
    steps:
      - service: allowance
`
)

func baseFS(replace map[string]string) fstest.MapFS {
	files := map[string]string{
		"catalogue.yaml": baseCatalogue, "parameters.yaml": baseParams,
		"services.yaml": baseServices, "situations.yaml": baseSituations,
	}
	for k, v := range replace {
		files[k] = v
	}
	fsys := fstest.MapFS{}
	for k, v := range files {
		if v != "" {
			fsys[k] = &fstest.MapFile{Data: []byte(v)}
		}
	}
	return fsys
}

func TestSmallCatalogueLoads(t *testing.T) {
	cat, err := Load(baseFS(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version() != "t1" || len(cat.Situations("birth.registered")) != 1 {
		t.Fatalf("version %q situations %v", cat.Version(), cat.Situations("birth.registered"))
	}
}

func TestLoadErrorsCarryFileLineAndReason(t *testing.T) {
	services := func(old, new string) map[string]string {
		if !strings.Contains(baseServices, old) {
			panic("test edit does not apply: " + old)
		}
		return map[string]string{"services.yaml": strings.Replace(baseServices, old, new, 1)}
	}
	situations := func(old, new string) map[string]string {
		if !strings.Contains(baseSituations, old) {
			panic("test edit does not apply: " + old)
		}
		return map[string]string{"situations.yaml": strings.Replace(baseSituations, old, new, 1)}
	}
	params := func(old, new string) map[string]string {
		if !strings.Contains(baseParams, old) {
			panic("test edit does not apply: " + old)
		}
		return map[string]string{"parameters.yaml": strings.Replace(baseParams, old, new, 1)}
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown key", services("    mode: draft\n", "    mode: draft\n    modee: grant\n"),
			`services.yaml:7: service "allowance": unknown key "modee"`},
		{"missing required field", services("    curator: {name: Иванов И. И., agency: СФР}\n    mode: draft\n", "    mode: draft\n"),
			`services.yaml:2: service "allowance": missing required field "curator"`},
		{"missing field of a nested mapping", services("curator: {name: Иванов И. И., agency: СФР}\n    mode: draft", "curator: {name: Иванов И. И.}\n    mode: draft"),
			`services.yaml:5: service "allowance": curator: missing required field "agency"`},
		{"duplicate id across files", map[string]string{"more.yaml": "services:\n  - id: notice\n    title: {ru: а, en: b}\n    agency: x\n    curator: {name: x, agency: x}\n    mode: inform\n    legal_basis: x\n"},
			`services.yaml:15: service "notice": duplicate id (first defined at more.yaml:2)`},
		{"unknown service reference", situations("      - service: allowance\n", "      - service: allowanse\n"),
			`situations.yaml:10: situation "birth": step "allowanse": unknown service "allowanse"`},
		{"bad mode", services("    mode: draft\n", "    mode: automatic\n"),
			`services.yaml:6: service "allowance": mode "automatic" is not one of grant, grant_opt_out, draft, inform`},
		{"grant without registry", services("    mode: draft\n", "    mode: grant\n"),
			`services.yaml:2: service "allowance": mode grant needs a registry`},
		{"undeclared variable", services(`people[applicant].citizenship == "RU"`, `people[evnt.mother_id].citizenship == "RU"`),
			`services.yaml:9: service "allowance": rule 1: condition: undeclared reference to 'evnt'`},
		{"unknown fact of a person", services(`people[applicant].citizenship == "RU"`, `people[applicant].citizenshp == "RU"`),
			`services.yaml:9: service "allowance": rule 1: condition: undefined field 'citizenshp'`},
		{"type error", services(`people[applicant].citizenship == "RU"`, `people[applicant].citizenship`),
			`services.yaml:9: service "allowance": rule 1: condition: must be bool, got string`},
		{"type error inside", services(`people[applicant].citizenship == "RU"`, `people[applicant].citizenship + 1 == "RU"`),
			`services.yaml:9: service "allowance": rule 1: condition: found no matching overload for '_+_'`},
		{"error on the second line of a block expression", services("      - condition: people[applicant].citizenship == \"RU\"\n",
			"      - condition: |\n          people[applicant].citizenship == \"RU\" &&\n          age(people[applicant].birth_date) > 1\n"),
			`services.yaml:11: service "allowance": rule 1: condition: found no matching overload for 'age'`},
		{"field the trigger event does not have", situations("applicant: event.mother_id", "applicant: event.mothr_id"),
			`situations.yaml:8: situation "birth": applicant: event "birth.registered" (trigger of situation "birth") has no field "mothr_id"`},
		{"unknown trigger event", situations("event: birth.registered", "event: birth.registred"),
			`situations.yaml:2: situation "birth": trigger: unknown event type "birth.registred"`},
		{"unknown parameter", services(`param("amount")`, `param("amont")`),
			`services.yaml:13: service "allowance": prefill "amount": unknown parameter "amont"`},
		{"regional parameter without a region", services(`param("amount")`, `param("minimum")`),
			`services.yaml:13: service "allowance": prefill "amount": parameter "minimum" is keyed by region`},
		{"overlapping periods", params("      - {valid_from: 2021-01-01, value: 200}", "      - {valid_from: 2020-12-01, value: 200}"),
			`parameters.yaml:6: parameter "amount": value 2: period 2020-12-01..open overlaps value 1 (2020-01-01..2020-12-31)`},
		{"period ending before it starts", params("valid_to: 2020-12-31", "valid_to: 2019-12-31"),
			`parameters.yaml:5: parameter "amount": value 1: valid_to 2019-12-31 is before valid_from 2020-01-01`},
		{"negative deadline", services("    deadline: {param: days}\n", "    deadline: {days: -5}\n"),
			`services.yaml:14: service "allowance": deadline: days must not be negative`},
		{"negative deadline parameter", params("      - {valid_from: 2020-01-01, value: 30}", "      - {valid_from: 2020-01-01, value: -30}"),
			`parameters.yaml:15: parameter "days": value 1: negative deadline -30`},
		{"negative window", situations("window_days: 180", "window_days: -1"),
			`situations.yaml:7: situation "birth": window_days must not be negative`},
		{"on_expiry that is not a notice", services("    deadline: {param: days}\n", "    deadline: {param: days}\n    on_expiry: {notify: allowance}\n"),
			`services.yaml:15: service "allowance": on_expiry: service "allowance" must have mode inform`},
		{"bad editable pattern", services("    deadline: {param: days}\n", "    deadline: {param: days}\n    editable:\n      account: {type: string, pattern: '[0-9'}\n"),
			`services.yaml:16: service "allowance": editable "account": pattern: error parsing regexp`},
		{"reserved let name", services("    prefill:\n", "    let:\n      event: 1\n    prefill:\n"),
			`services.yaml:13: service "allowance": let "event": "event" is a reserved variable name`},
		{"invalid YAML", services("    mode: draft\n", "    mode: [draft\n"),
			`services.yaml:`},
		{"no version", map[string]string{"catalogue.yaml": "events:\n  birth.registered:\n    fields: [child_id, mother_id, birth_date, region]\n"},
			`no file declares the catalogue version`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(baseFS(tc.files))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load: %v, want a *LoadError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("errors:\n%v\nwant a line containing:\n%s", err, tc.want)
			}
		})
	}
}

func TestLoadListsEveryProblem(t *testing.T) {
	files := map[string]string{"services.yaml": strings.NewReplacer(
		"mode: draft", "mode: sometimes",
		`people[applicant].citizenship == "RU"`, `evnt`,
		"{param: days}", "{days: -1}",
	).Replace(baseServices)}
	_, err := Load(baseFS(files))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 3 {
		t.Fatalf("want three problems, got:\n%v", err)
	}
	for i, want := range []int{6, 9, 14} {
		if p := le.Problems[i]; p.File != "services.yaml" || p.Line != want {
			t.Fatalf("problem %d at %s:%d, want services.yaml:%d (%s)", i, p.File, p.Line, want, p.Message)
		}
	}
}

func TestHashIgnoresLayoutButNotContent(t *testing.T) {
	a, err := Load(baseFS(nil))
	if err != nil {
		t.Fatal(err)
	}
	// Same content: keys reordered, comments added, files merged differently.
	reordered := fstest.MapFS{
		"all.yaml": {Data: []byte("# one file\n" + baseSituations + strings.Replace(baseServices,
			"    agency: СФР\n    curator: {name: Иванов И. И., agency: СФР}\n",
			"    curator: {agency: СФР, name: Иванов И. И.}\n    agency: СФР\n", 1))},
		"sub/params.yaml": {Data: []byte(baseParams + "\n" + baseCatalogue)},
	}
	b, err := Load(reordered)
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Fatalf("hash changed with layout: %s vs %s", a.Hash(), b.Hash())
	}
	c, err := Load(baseFS(map[string]string{"parameters.yaml": strings.Replace(baseParams, "value: 200", "value: 201", 1)}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash() == a.Hash() {
		t.Fatal("hash did not change with a parameter value")
	}
}

func TestDeadlineFromDecisionAndRemindersBeforeIt(t *testing.T) {
	cat, err := Load(baseFS(map[string]string{"services.yaml": strings.Replace(baseServices,
		"    deadline: {param: days}\n",
		"    deadline: {days: 30, from: decision}\n    reminders: [{before: 7}, {after: 1}, {after: 40}]\n", 1)}))
	if err != nil {
		t.Fatal(err)
	}
	sit, _ := cat.Situation("birth")
	d, err := Decide(sit, Input{
		Data:   map[string]any{"mother_id": "m", "child_id": "c", "birth_date": "2021-03-01", "region": "RU-MOW"},
		People: map[string]Person{"m": {Citizenship: "RU"}},
		Today:  day(t, "2021-03-10"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Steps[0]
	// 30 days from the decision; day 1 after it, 7 days before the
	// deadline; day 40 is past the deadline.
	if s.Deadline != "2021-04-09" || strings.Join(s.Reminders, ",") != "2021-03-11,2021-04-02" {
		t.Fatalf("deadline %s reminders %v", s.Deadline, s.Reminders)
	}
	if s.Prefill["amount"] != 200.0 { // the 2021 value, in force on the event date
		t.Fatalf("prefill %v", s.Prefill)
	}
}
