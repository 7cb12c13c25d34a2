package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan/jsonscantest"
	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// stepJSON is a step.decided event as the sagas record it.
func stepJSON(t *testing.T) string {
	t.Helper()
	sit := uuid.New()
	step := situation.StepID(sit, "maternity-capital")
	grant := situation.GrantID(step)
	b, err := json.Marshal(situation.StepDecided{SituationID: sit, StepID: step, GrantID: grant, EntryID: situation.EntryID(grant),
		ParentStepID: uuid.New(), DecidedAt: time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("", 3600)),
		Decision: catalogue.StepDecision{Key: "maternity-capital", Step: "maternity-capital", Service: "maternity-capital",
			Outcome: catalogue.OutcomeGranted, Registry: "pension-fund", OnExpiry: "passport-expired", FollowUps: []string{"snils-update", "tax-update"}, Applicant: uuid.NewString(), Reasons: []catalogue.Reason{{Rule: "ok"}},
			Values: map[string]any{"income": 1.5, "names": []any{"a\"}", "{b"}}, Prefill: map[string]any{"amount": 728921.9, "key": "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fast decoding of a step decision gives what encoding/json gives, or
// gives up: on the events as recorded (where it must not give up, or it
// gains nothing) and on edited ones, including members it reads spelt in
// another case, escaped, repeated, null or of another type.
func TestDecodeStepFastIsEncodingJSONs(t *testing.T) {
	base := stepJSON(t)
	if _, ok := decodeStepFast([]byte(base)); !ok {
		t.Fatalf("the fast decoding gives up on a step as recorded: %s", base)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	sitID := string(m["situation_id"])
	variants := []string{
		base,
		" \n" + strings.Replace(base, ",", " ,\n ", -1) + "\t",
		strings.Replace(base, `"situation_id"`, `"Situation_ID"`, 1),
		strings.Replace(base, `"situation_id"`, `"situation\u005fid"`, 1),
		strings.Replace(base, `"key":"maternity-capital"`, `"KEY":"other"`, 1),
		strings.Replace(base, `"outcome":"granted"`, `"outcome":"gr\u0061nted"`, 1),
		strings.Replace(base, `"outcome":"granted"`, `"outcome":null`, 1),
		strings.Replace(base, `"outcome":"granted"`, `"outcome":7`, 1),
		strings.Replace(base, `"service":"maternity-capital"`, `"ſervice":"x"`, 1),
		strings.Replace(base, `"step_id":`, `"step_id":null,"x":`, 1),
		strings.Replace(base, `"grant_id":`, `"grant_id":"not a uuid","y":`, 1),
		strings.Replace(base, `"grant_id":`, `"grant_id":"`+strings.Trim(sitID, `"`)+`","grant_id":`, 1),
		strings.Replace(base, sitID, `"{`+strings.Trim(sitID, `"`)+`}"`, 1),
		strings.Replace(base, sitID, `"urn:uuid:`+strings.Trim(sitID, `"`)+`"`, 1),
		strings.Replace(base, sitID, `""`, 1),
		strings.Replace(base, `"decision":{`, `"decision":null,"decision2":{`, 1),
		strings.Replace(base, `"decision":{`, `"decision":[1],"z":{`, 1),
		strings.Replace(base, `"decision":{`, `"decision":{"key":"first"},"decision":{`, 1),
		strings.Replace(base, `"decision":{`, `"decision":{"key":"dup","key":`, 1) + "",
		strings.Replace(base, `"key":"maternity-capital"`, `"key":"\xff"`, 1),
		strings.Replace(base, `"key":"maternity-capital"`, `"key":"ключ"`, 1),
		strings.Replace(base, `"decided_at":`, `"decided_at":null,"w":`, 1),
		strings.Replace(base, `"decided_at":`, `"decided_at":5,"w":`, 1),
		strings.Replace(base, `"decided_at":`, `"decided_at":"yesterday","w":`, 1),
		strings.Replace(base, `"decided_at":`, `"decided_at":"2026-01-02T03:04:05\u005a","w":`, 1),
		strings.Replace(base, `"decided_at":`, `"Decided_At":`, 1),
		strings.Replace(base, `"decided_at":`, `"decided_at":"2026-01-02T03:04:05Z","decided_at":`, 1),
		strings.Replace(base, `"registry":"pension-fund"`, `"Registry":"x"`, 1),
		strings.Replace(base, `"registry":"pension-fund"`, `"registry":["x"]`, 1),
		strings.Replace(base, `"registry":"pension-fund"`, `"registry":"pension\u002dfund"`, 1),
		strings.Replace(base, `"on_expiry":"passport-expired"`, `"on_expiry":null`, 1),
		strings.Replace(base, `"on_expiry":"passport-expired"`, `"On_Expiry":"x"`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":null,"v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":[],"v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":"x","v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":[null],"v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":[1],"v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":["\u0061"],"v":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"follow_ups":["a"],"follow_ups":[`, 1),
		strings.Replace(base, `"follow_ups":[`, `"Follow_ups":[`, 1),
		`{}`, `{"decision":{}}`, `null`, `[]`, `"x"`, `{"decision":{"key":"a"}`, base + "x",
	}
	check := func(t *testing.T, data string) {
		t.Helper()
		got, want := decodeStep([]byte(data)), decodeStepStd([]byte(data))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nfast:  %+v\nstd:   %+v", data, got, want)
		}
	}
	for _, v := range variants {
		check(t, v)
	}
	// And byte edits at random.
	jsonscantest.RandomEdits(base, 7, `{}[]",:\ ak_0-9ueKſ`+"\x00", func(b string) { check(t, b) })
}

// The plan's fast decoding of an opening gives what json.Unmarshal gives,
// or gives up, in the same way.
func TestDecodePlanOpeningFastIsEncodingJSONs(t *testing.T) {
	trig := uuid.New()
	b, err := json.Marshal(situation.Opened{SituationID: situation.ID("birth", trig), Kind: "birth", PersonID: uuid.NewString(),
		Participants: []string{"a"}, CatalogueVersion: "v", RegisterPosition: 41,
		Trigger: situation.Trigger{EventID: trig, Type: "birth.registered", Stream: "person-x", Position: 40, EventDate: "2026-03-05",
			Data: json.RawMessage(`{"child_id":"c","family_name":{"sealed":"v1:c:AAAA"},"n":[1,{"x":"}"}]}`)},
		Facts: map[string]catalogue.Person{"c": {ID: "c", FamilyName: "Иванов", Region: "RU-MOW"}}})
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	if _, ok := decodePlanOpeningFast(b); !ok {
		t.Fatalf("the fast decoding gives up on an opening as recorded: %s", base)
	}
	variants := []string{
		base,
		strings.Replace(base, `"register_position":41`, `"register_position":4.1e1`, 1),
		strings.Replace(base, `"register_position":41`, `"register_position":-1`, 1),
		strings.Replace(base, `"register_position":41`, `"register_position":null`, 1),
		strings.Replace(base, `"register_position":41`, `"register_position":"41"`, 1),
		strings.Replace(base, `"register_position":41`, `"register_position":99999999999999999999`, 1),
		strings.Replace(base, `"register_position":41`, `"Register_Position":41`, 1),
		strings.Replace(base, `"position":40`, `"position":40,"position":39`, 1),
		strings.Replace(base, `"trigger":{`, `"trigger":{"position":1},"trigger":{`, 1),
		base[:len(base)-1] + `,"trigger":{"position":1}}`,
		strings.Replace(base, `"trigger":{`, `"trigger":null,"t":{`, 1),
		strings.Replace(base, `"trigger":{`, `"trigger":7,"t":{`, 1),
		strings.Replace(base, `"type":"birth.registered"`, `"type":5`, 1),
		strings.Replace(base, `"type":"birth.registered"`, `"TYPE":"x"`, 1),
		strings.Replace(base, `"event_date":"2026-03-05"`, `"event_date":"2026\u002d03"`, 1),
		strings.Replace(base, `"data":{`, `"data":null,"d":{`, 1),
		strings.Replace(base, `"data":{`, `"data":"x","d":{`, 1),
		strings.Replace(base, `"event_id":"`, `"event_id":"nope","e":"`, 1),
		strings.Replace(base, `"situation_id":"`, `"situation_id":null,"s":"`, 1),
		`{}`, `null`, `[]`, `{"trigger":{}}`, base[:len(base)-1],
	}
	check := func(t *testing.T, data string) {
		t.Helper()
		got, gotErr := decodePlanOpening([]byte(data))
		var want planOpening
		wantErr := json.Unmarshal([]byte(data), &want)
		if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nfast: %+v %v\nstd:  %+v %v", data, got, gotErr, want, wantErr)
		}
	}
	for _, v := range variants {
		check(t, v)
	}
	jsonscantest.RandomEdits(base, 8, `{}[]",:\ ak_0-9ueKſ.e`+"\x00", func(b string) { check(t, b) })
}

// The fast decoding of a whole opening gives what json.Unmarshal gives, or
// gives up, in the same way.
func TestDecodeOpeningFastIsEncodingJSONs(t *testing.T) {
	trig := uuid.New()
	mother, child := uuid.NewString(), uuid.NewString()
	b, err := json.Marshal(situation.Opened{SituationID: situation.ID("birth-of-child", trig), Kind: "birth-of-child",
		Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"}, PersonID: mother,
		Participants: []string{mother, child}, CatalogueVersion: "2026.11", CatalogueHash: "3e67", RegisterPosition: 41,
		Trigger: situation.Trigger{EventID: trig, Type: "birth.registered", Stream: "person-x", Position: 40, EventDate: "2026-03-05",
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
	if _, ok := decodeOpeningFast(b); !ok {
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
		got := decodeOpening([]byte(data))
		var want situation.Opened
		wantErr := json.Unmarshal([]byte(data), &want)
		if (got.err == nil) != (wantErr == nil) || !reflect.DeepEqual(got.opened, want) {
			t.Fatalf("for %s\nfast: %+v %v\nstd:  %+v %v", data, got.opened, got.err, want, wantErr)
		}
	}
	for _, v := range variants {
		check(t, v)
	}
	jsonscantest.RandomEdits(base, 9, `{}[]",:\ ak_0-9ueKſ.eтn`+"\x00", func(b string) { check(t, b) })
}

// triggerPersons decodes a trigger's data as json.Unmarshal into a
// map[string]any does, on data it decodes with jsonscan and on data it
// leaves to encoding/json.
func TestTriggerPersonsIsEncodingJSONs(t *testing.T) {
	std := func(data string) ([]string, map[string]any) {
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			return nil, nil
		}
		return situations.PersonIDs(m), m
	}
	mother, child := uuid.NewString(), uuid.NewString()
	base := `{"mother_id":"` + mother + `","child":{"id":"` + child + `","birth_date":"2026-01-02"},"twins":2,"ok":true,"n":null}`
	texts := []string{base, ` ` + base, `null`, `[1]`, `"x"`, `7`, `{}`, `{"mother_id":"\u0061"}`, `{"a":1e400}`, `{`, ``}
	check := func(data string) {
		t.Helper()
		gotIDs, got := triggerPersons(json.RawMessage(data))
		wantIDs, want := std(data)
		if !reflect.DeepEqual(gotIDs, wantIDs) || !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\n got %v %#v\nwant %v %#v", data, gotIDs, got, wantIDs, want)
		}
	}
	for _, s := range texts {
		check(s)
	}
	jsonscantest.RandomEdits(base, 13, `{}[]",:\ 0-9.en`, check)
}
