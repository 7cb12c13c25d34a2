package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan/jsonscantest"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
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
			Outcome: catalogue.OutcomeGranted, Registry: "pension-fund", OnExpiry: "passport-expired", FollowUps: []string{"snils-update", "tax-update"}, Applicant: uuid.NewString(), Beneficiary: uuid.NewString(), OptOut: true, Reasons: []catalogue.Reason{{Rule: "ok"}},
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
	check := func(t *testing.T, data string) {
		t.Helper()
		got, want := decodeStep([]byte(data)), decodeStepStd([]byte(data))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nfast:  %+v\nstd:   %+v", data, got, want)
		}
	}
	for _, v := range stepVariants(base, string(m["situation_id"])) {
		check(t, v)
	}
	// And byte edits at random.
	jsonscantest.RandomEdits(base, 7, `{}[]",:\ ak_0-9ueKſ`+"\x00", func(b string) { check(t, b) })
}

// stepVariants are edits of a recorded step decision (base, whose
// situation id is the JSON string sitID) that a fast decoding must decode
// as encoding/json does, or give up on.
func stepVariants(base, sitID string) []string {
	return []string{
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
		// What only the register reads.
		strings.Replace(base, `"applicant":"`, `"Applicant":"`, 1),
		strings.Replace(base, `"applicant":"`, `"applic\u0061nt":"`, 1),
		strings.Replace(base, `"applicant":"`, `"applicant":null,"a":"`, 1),
		strings.Replace(base, `"applicant":"`, `"applicant":7,"a":"`, 1),
		strings.Replace(base, `"applicant":"`, `"applicant":"\u0061`, 1),
		strings.Replace(base, `"applicant":"`, `"applicant":"x","applicant":"`, 1),
		strings.Replace(base, `"beneficiary":"`, `"BENEFICIARY":"`, 1),
		strings.Replace(base, `"beneficiary":"`, `"beneficiary":["x"],"b":"`, 1),
		strings.Replace(base, `"opt_out":true`, `"opt_out":"true"`, 1),
		strings.Replace(base, `"opt_out":true`, `"opt_out":null`, 1),
		strings.Replace(base, `"opt_out":true`, `"Opt_Out":false`, 1),
		strings.Replace(base, `"opt_out":true`, `"opt_out":false,"opt_out":true`, 1),
		strings.Replace(base, `"decision":{`, `"decision":{"applicant":"first","opt_out":true},"decision":{`, 1),
		base[:len(base)-1] + `,"decision":{"service":"other","outcome":"drafted"}}`,
		strings.Replace(base, `"decision":{`, `"decision":{"Zed":1,`, 1),
		strings.Replace(base, `{`, `{"X":1,`, 1),
	}
}

// The scan that decodes a step decision for the comparison reads what
// register.Decode reads of it, or leaves the event to register.Decode: on
// the events as recorded (where it must read it, or nothing is saved) and
// on edited ones, including the members only the register reads spelt in
// another case, escaped, repeated, null or of another type.
func TestStepScanReadsWhatTheRegisterReads(t *testing.T) {
	base := stepJSON(t)
	check := func(t *testing.T, data string) bool {
		t.Helper()
		var g stepRead
		decodeStepRead([]byte(data), &g)
		if !g.ok {
			return false
		}
		e := eventstore.RecordedEvent{Stream: situation.StreamPrefix + uuid.NewString(),
			Event: eventstore.Event{Type: situation.TypeStepDecided, Data: []byte(data)}}
		if got, want := register.DecodedStep(g.read), register.Decode(&e); !reflect.DeepEqual(got, want) {
			t.Fatalf("for %s\nthe scan reads     %+v\nthe register reads %+v", data, g.read, want)
		}
		return true
	}
	if !check(t, base) {
		t.Fatalf("the scan leaves a step as recorded to the register: %s", base)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, v := range stepVariants(base, string(m["situation_id"])) {
		if check(t, v) {
			read++
		}
	}
	if read < 2 {
		t.Errorf("the scan read %d variants for the register, want the recorded one and its spacing", read)
	}
	jsonscantest.RandomEdits(base, 7, `{}[]",:\ abefilnoptu_0-9AK`+"\x00", func(b string) { check(t, b) })
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
