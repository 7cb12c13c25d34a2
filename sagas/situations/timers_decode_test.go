package situations_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"lifesituations/domain/situation"
	"lifesituations/sagas/situations"
)

// The timers' own decoding of step decisions gives what encoding/json
// gives, or gives up: on the events as recorded (where it must not give
// up, or it gains nothing) and on edited ones, including members spelt in
// another case, escaped, repeated, null or of another type, nested ones,
// and on random byte edits.
func TestFastStepDecidedIsEncodingJSONs(t *testing.T) {
	seen := map[string]bool{}
	for _, ev := range situationEvents(t, 1) {
		if ev.Type != situation.TypeStepDecided {
			continue
		}
		data := string(ev.Data)
		if _, ok, err := situations.DecodeStepDecidedFast(ev.Data); !ok || err != nil {
			t.Fatalf("the fast decoding gives up on the event as recorded (%v): %s", err, data)
		}
		for _, v := range stepDecidedVariants(t, data) {
			if !seen[v] {
				seen[v] = true
				checkFastStepDecided(t, v)
			}
		}
	}
}

func checkFastStepDecided(t *testing.T, data string) {
	t.Helper()
	got, ok, err := situations.DecodeStepDecidedFast([]byte(data))
	if !ok {
		return
	}
	var e situation.StepDecided
	if stdErr := json.Unmarshal([]byte(data), &e); stdErr != nil {
		t.Errorf("fast decoding of %s succeeds where encoding/json fails: %v", data, stdErr)
		return
	}
	if err != nil {
		t.Errorf("the decision kept of %s does not decode: %v", data, err)
		return
	}
	want := situations.FastStepDecided{SituationID: e.SituationID, StepID: e.StepID, Outcome: e.Decision.Outcome,
		Applicant: e.Decision.Applicant, Deadline: e.Decision.Deadline, Reminders: e.Decision.Reminders, Decision: e.Decision}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fast decoding of %s:\n got %+v\nwant %+v", data, got, want)
	}
}

// stepDecidedVariants edits a recorded step decision: each member of the
// event and of its decision, a few nested ones, and random bytes.
func stepDecidedVariants(t *testing.T, data string) []string {
	t.Helper()
	variants := []string{data, " \n" + strings.ReplaceAll(data, ",", " ,\n ") + "\t", "null", "[]", "{}", `{"x":1}`,
		`{"decision":{}}`, `{"decision":{"outcome":"drafted"}}`}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &top); err != nil {
		t.Fatal(err)
	}
	var decision map[string]json.RawMessage
	if err := json.Unmarshal(top["decision"], &decision); err != nil {
		t.Fatal(err)
	}
	for _, members := range []map[string]json.RawMessage{top, decision} {
		for key, value := range members {
			member := `"` + key + `":` + string(value)
			for _, edit := range []string{
				`"` + strings.ToUpper(key) + `":` + string(value),
				`"` + key[:1] + `\u00` + hex(key[1]) + key[2:] + `":` + string(value),
				`"` + key + `":null`, `"` + key + `":7`, `"` + key + `":true`, `"` + key + `":""`, `"` + key + `":"x"`,
				`"` + key + `":{}`, `"` + key + `":[]`, `"` + key + `":["a"]`, `"` + key + `":[null]`, `"` + key + `":[7]`,
				`"` + key + `":"a\u0062"`, `"` + key + `":"2016-02-30"`, `"` + key + `":"drafted"`, `"` + key + `":"\xff"`,
				`"` + key + `":"2026-02-21T13:00:00+03:00"`, `"` + key + `":"2026-02-21T13:00:00+25:00"`,
				`"` + key + `":{"ru":7}`, `"` + key + `":[{"passed":"yes"}]`, `"` + key + `":[{"text":{"en":1}}]`,
				member + `,` + member, member + `,"` + key + `":"e7544e0c-6ad7-4a37-814c-e4e138dec39d"`,
				member + `,"` + key + `":null`, `"ſ` + key[1:] + `":"x"`, `"` + key + `x":{"y":[1,{"z":null}]}`,
			} {
				variants = append(variants, strings.Replace(data, member, edit, 1))
			}
		}
	}
	for _, edit := range []string{`"outcome":"drafted"`, `"outcome":"gr\u0061nted"`, `"reminders":["2026-03-01"]`,
		`"reminders":null`, `"deadline":null`, `"applicant":null`} {
		d := string(top["decision"])
		variants = append(variants, strings.Replace(data, d, `{`+edit+`,`+d[1:], 1),
			strings.Replace(data, d, d[:len(d)-1]+`,`+edit+`}`, 1),
			strings.Replace(data, d, d+`,"decision":{`+edit+`}`, 1))
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(data))))
	for range 3000 {
		b := []byte(data)
		for range 1 + rng.IntN(3) {
			const bytes = `"{}[],:\ ab0AZ_-9eunlrtE.+`
			b[rng.IntN(len(b))] = bytes[rng.IntN(len(bytes))]
		}
		variants = append(variants, string(b))
	}
	return variants
}

func hex(c byte) string { return string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]) }
