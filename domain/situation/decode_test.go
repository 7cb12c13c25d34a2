package situation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan/jsonscantest"
)

// recordedStep is a step.decided event as the sagas record it, every
// member the cabinet keeps set.
func recordedStep(t *testing.T) string {
	t.Helper()
	sit := uuid.New()
	step := StepID(sit, "maternity-capital")
	grant := GrantID(step)
	b, err := json.Marshal(StepDecided{SituationID: sit, StepID: step, GrantID: grant, EntryID: EntryID(grant),
		ParentStepID: uuid.New(), ExpiredStepID: uuid.New(), DecidedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("", 3600)),
		Decision: catalogue.StepDecision{Key: "maternity-capital[c1]", Step: "maternity-capital", Service: "maternity-capital",
			Title: catalogue.Text{RU: "Материнский капитал", EN: "Maternity capital"}, Agency: "sfr", Mode: "automatic",
			Outcome: catalogue.OutcomeGranted, OptOut: true, Applicant: "m1", Beneficiary: "c1", Item: map[string]any{"id": "c1", "n": 2.5},
			Reasons:  []catalogue.Reason{{Kind: catalogue.ReasonRule, Rule: "ok", Text: catalogue.Text{RU: "да", EN: "yes"}, LegalBasis: "art. 3"}},
			Values:   map[string]any{"income": 1.5, "names": []any{"a\"}", "{b"}},
			Rules:    []catalogue.RuleCheck{{Rule: "r", Passed: true, LegalBasis: "l"}},
			Prefill:  map[string]any{"amount": 728921.9, "key": "x", "nested": map[string]any{"a": []any{1.0, nil}}},
			Editable: []string{"amount"}, Deadline: "2026-04-01", Reminders: []string{"P30D", "P60D"}, OnExpiry: "passport-expired",
			Curator: catalogue.Curator{Name: "Ivanov", Agency: "sfr"}, Registry: "pension-fund", LegalBasis: "256-FZ",
			FollowUps: []string{"snils-update"}, Parameters: []catalogue.ParamUse{{Name: "amount", Value: 728921.9}}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fast decoding of a step decision, whole or brief, gives what
// encoding/json gives (for the brief one, with the explanations shadowed),
// or gives up: on the event as recorded (where it must not give up, or it
// gains nothing) and on edited ones, including members spelt in another
// case, escaped, repeated, null or of another type.
func TestDecodeStepFastIsEncodingJSONs(t *testing.T) {
	base := recordedStep(t)
	if _, ok := decodeStepFast([]byte(base), false); !ok {
		t.Fatalf("the brief decoding gives up on a step as recorded: %s", base)
	}
	// The whole decoding leaves a value with escapes to encoding/json.
	plain := strings.Replace(base, `"a\"}"`, `"a}"`, 1)
	if _, ok := decodeStepFast([]byte(plain), true); !ok || plain == base {
		t.Fatalf("the whole decoding gives up on a step as recorded: %s", plain)
	}
	variants := []string{base, plain, " \n" + strings.ReplaceAll(base, ",", " ,\n ") + "\t", `{}`, `{"decision":{}}`, `null`, `[]`, `"x"`, base + "x"}
	edit := func(old, new string) {
		t.Helper()
		if !strings.Contains(base, old) {
			t.Fatalf("the recorded step has no %s", old)
		}
		variants = append(variants, strings.Replace(base, old, new, 1))
	}
	edits, err := jsonscantest.MemberEdits(base, "situation_id", "decided_at", "decision", "key", "mode", "outcome", "opt_out",
		"title", "curator", "editable", "reminders", "follow_ups", "item", "reasons", "prefill", "registry",
		"ru", "name", "kind", "rule", "legal_basis", "nested", "n")
	if err != nil {
		t.Fatal(err)
	}
	variants = append(variants, edits...)
	// The explanations, which only the whole decoding builds.
	edits, err = jsonscantest.MemberEdits(plain, "values", "rules", "parameters", "passed", "value", "valid_from", "income")
	if err != nil {
		t.Fatal(err)
	}
	variants = append(variants, edits...)
	edit(`"outcome":"granted"`, `"outcome":"gr\u0061nted"`)
	edit(`"key":"maternity-capital[c1]"`, `"key":"\xff"`)
	edit(`"reminders":[`, `"reminders":[],"v":[`)
	edit(`"reminders":[`, `"reminders":[null],"v":[`)
	edit(`"values":{`, `"values":7,"v2":{`)
	edit(`"rules":[`, `"rules":[1],"rules":[`)
	edit(`"decided_at":`, `"decided_at":"yesterday","w":`)
	check := func(data string) {
		t.Helper()
		var std StepDecided
		err := json.Unmarshal([]byte(data), &std)
		if fast, ok := decodeStepFast([]byte(data), true); ok && (err != nil || !reflect.DeepEqual(fast, std)) {
			t.Fatalf("for %s\nfast: %+v\nstd:  %+v (%v)", data, fast, std, err)
		}
		if got, err2 := DecodeStepDecided([]byte(data)); (err2 == nil) != (err == nil) || err == nil && !reflect.DeepEqual(got, std) {
			t.Fatalf("for %s\ndecoded: %+v (%v)\nstd:  %+v (%v)", data, got, err2, std, err)
		}
		var brief stepDecidedBrief
		err = json.Unmarshal([]byte(data), &brief)
		want := brief.StepDecided
		want.Decision = brief.Decision.StepDecision
		want.Decision.Rules, want.Decision.Values, want.Decision.Parameters = nil, nil, nil
		if fast, ok := decodeStepFast([]byte(data), false); ok && (err != nil || !reflect.DeepEqual(fast, want)) {
			t.Fatalf("for %s\nbrief: %+v\nstd:  %+v (%v)", data, fast, want, err)
		}
		if got, err2 := DecodeStepDecidedBrief([]byte(data)); (err2 == nil) != (err == nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nbrief: %+v (%v)\nstd:  %+v (%v)", data, got, err2, want, err)
		}
	}
	for _, v := range variants {
		check(v)
	}
	jsonscantest.RandomEdits(base, 11, `{}[]",:\ ak_0-9ueKſn`+"\x00", check)
	jsonscantest.RandomEdits(plain, 12, `{}[]",:\ ak_0-9ueKſn`+"\x00", check)
}

// The fast decoding of a whole opening gives what json.Unmarshal gives, or
// gives up, in the same way.
func TestDecodeOpeningFastIsEncodingJSONs(t *testing.T) {
	trig := uuid.New()
	mother, child := uuid.NewString(), uuid.NewString()
	b, err := json.Marshal(Opened{SituationID: ID("birth-of-child", trig), Kind: "birth-of-child",
		Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"}, PersonID: mother,
		Participants: []string{mother, child}, CatalogueVersion: "2026.11", CatalogueHash: "3e67", RegisterPosition: 41,
		Trigger: Trigger{EventID: trig, Type: "birth.registered", Stream: "person-x", Position: 40, EventDate: "2026-03-05",
			Data: json.RawMessage(`{"child_id":"c","family_name":{"sealed":"v1:c:AAAA"},"n":[1,{"x":"}"}]}`)},
		Parameters: []catalogue.ParamUse{{Name: "maternity-capital", Key: "default", Value: 728921.9, ValidFrom: "2026-01-01"},
			{Name: "deadline", Value: map[string]any{"days": 30.0}, ValidFrom: "2025-01-01", ValidTo: "2026-12-31"}},
		Facts: map[string]catalogue.Person{
			mother: {ID: mother, FamilyName: "Иванова", GivenName: "Анна", BirthDate: "1990-02-03", Sex: "F", Citizenship: "RU",
				Region: "RU-MOW", TimeZone: "Europe/Moscow", Address: "Москва, ул. Ленина, 1", Children: []string{child},
				Parents: []string{}, Incomes: map[string]float64{"2024": 1.5e6, "2025": 0}, Granted: []string{"passport"},
				PreviousFamilyName: "Петрова"},
			child: {ID: child, BirthDate: "2026-03-05", Parents: []string{mother}, Dead: true},
		},
		OpenedAt: time.Date(2026, 3, 5, 1, 2, 3, 4, time.FixedZone("", 3*3600))})
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	if _, ok := decodeOpenedFast(b); !ok {
		t.Fatalf("the fast decoding gives up on an opening as recorded: %s", base)
	}
	variants := []string{
		base,
		" \n" + strings.Replace(base, ",", " ,\n ", -1) + "\t",
		strings.Replace(base, `"kind":"birth-of-child"`, `"Kind":"x"`, 1),
		strings.Replace(base, `"kind":"birth-of-child"`, `"kind":null`, 1),
		strings.Replace(base, `"kind":"birth-of-child"`, `"kind":"a","kind":"b"`, 1),
		strings.Replace(base, `"title":{`, `"title":null,"t":{`, 1),
		strings.Replace(base, `"title":{`, `"title":{"ru":"x"},"title":{`, 1),
		strings.Replace(base, `"ru":`, `"RU":`, 1),
		strings.Replace(base, `"participants":[`, `"participants":null,"p":[`, 1),
		strings.Replace(base, `"participants":[`, `"participants":[],"p":[`, 1),
		strings.Replace(base, `"participants":[`, `"participants":[1],"p":[`, 1),
		strings.Replace(base, `"register_position":41`, `"register_position":4.1e1`, 1),
		strings.Replace(base, `"parameters":[`, `"parameters":null,"q":[`, 1),
		strings.Replace(base, `"parameters":[`, `"parameters":{},"q":[`, 1),
		strings.Replace(base, `"parameters":[`, `"parameters":[{"name":"n","Value":1}],"q":[`, 1),
		strings.Replace(base, `"facts":{`, `"facts":null,"f":{`, 1),
		strings.Replace(base, `"facts":{`, `"facts":{},"facts":{`, 1),
		strings.Replace(base, `"facts":{`, `"facts":{"a\u0062":{"id":"x"},`, 1),
		strings.Replace(base, `"facts":{`, `"facts":{"`+child+`":{"id":"first"},`, 1),
		strings.Replace(base, `"facts":{`, `"facts":{"x":null,`, 1),
		strings.Replace(base, `"facts":{`, `"facts":{"x":[],`, 1),
		strings.Replace(base, `"id":"`+child, `"id":"dup","id":"`+child, 1),
		strings.Replace(base, `"id":"`+child, `"ID":"`+child, 1),
		strings.Replace(base, `"given_name":"Анна"`, `"given_name":"\u0410нна"`, 1),
		strings.Replace(base, `"given_name":"Анна"`, `"given_name":"\xff"`, 1),
		strings.Replace(base, `"incomes":{`, `"incomes":null,"i":{`, 1),
		strings.Replace(base, `"incomes":{`, `"incomes":{"2023":"x"},"i":{`, 1),
		strings.Replace(base, `"incomes":{`, `"incomes":{"2023":1e999},"i":{`, 1),
		strings.Replace(base, `"incomes":{`, `"incomes":{"2023":-0.5E+2,"2023":7},"i":{`, 1),
		strings.Replace(base, `"incomes":{`, `"incomes":{"2023":1},"incomes":{`, 1),
		strings.Replace(base, `"dead":true`, `"dead":false`, 1),
		strings.Replace(base, `"dead":true`, `"dead":null`, 1),
		strings.Replace(base, `"dead":true`, `"dead":1`, 1),
		strings.Replace(base, `"dead":true`, `"dead":"true"`, 1),
		strings.Replace(base, `"children":[`, `"children":null,"c":[`, 1),
		strings.Replace(base, `"parents":[]`, `"parents":[null]`, 1),
		strings.Replace(base, `"opened_at":"`, `"opened_at":null,"o":"`, 1),
		strings.Replace(base, `"opened_at":"`, `"opened_at":"yesterday","o":"`, 1),
		strings.Replace(base, `"opened_at":"`, `"opened_at":5,"o":"`, 1),
		strings.Replace(base, `"data":{`, `"data":null,"d":{`, 1),
		strings.Replace(base, `"position":40`, `"position":40,"position":39`, 1),
		`{}`, `null`, `[]`, `{"facts":{}}`, base[:len(base)-1], base + "x",
	}
	check := func(t *testing.T, data string) {
		t.Helper()
		got, err := DecodeOpened([]byte(data))
		var want Opened
		wantErr := json.Unmarshal([]byte(data), &want)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nfast: %+v %v\nstd:  %+v %v", data, got, err, want, wantErr)
		}
	}
	for _, v := range variants {
		check(t, v)
	}
	jsonscantest.RandomEdits(base, 9, `{}[]",:\ ak_0-9ueKſ.eтn`+"\x00", func(b string) { check(t, b) })
}
