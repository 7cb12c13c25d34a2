package cabinet

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonenc"
	"lifesituations/domain/jsonenc/jsonenctest"
	"lifesituations/domain/jsonscan/jsonscantest"
	"lifesituations/domain/situation"
)

// recordedStep is a step.decided event as the sagas record it, every
// member the cabinet keeps set.
func recordedStep(t *testing.T) string {
	t.Helper()
	sit := uuid.New()
	step := situation.StepID(sit, "maternity-capital")
	grant := situation.GrantID(step)
	b, err := json.Marshal(situation.StepDecided{SituationID: sit, StepID: step, GrantID: grant, EntryID: situation.EntryID(grant),
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

// The fast decoding of a step decision gives what the shadowed decoding
// with encoding/json gives, or gives up: on the event as recorded (where
// it must not give up, or it gains nothing) and on edited ones, including
// members spelt in another case, escaped, repeated, null or of another
// type.
func TestDecodeStepFastIsEncodingJSONs(t *testing.T) {
	base := recordedStep(t)
	if _, ok := decodeStepFast([]byte(base)); !ok {
		t.Fatalf("the fast decoding gives up on a step as recorded: %s", base)
	}
	variants := []string{base, " \n" + strings.ReplaceAll(base, ",", " ,\n ") + "\t", `{}`, `{"decision":{}}`, `null`, `[]`, `"x"`, base + "x"}
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
	edit(`"outcome":"granted"`, `"outcome":"gr\u0061nted"`)
	edit(`"key":"maternity-capital[c1]"`, `"key":"\xff"`)
	edit(`"reminders":[`, `"reminders":[],"v":[`)
	edit(`"reminders":[`, `"reminders":[null],"v":[`)
	edit(`"values":{`, `"values":7,"v2":{`)
	edit(`"rules":[`, `"rules":[1],"rules":[`)
	edit(`"decided_at":`, `"decided_at":"yesterday","w":`)
	check := func(data string) {
		t.Helper()
		fast, ok := decodeStepFast([]byte(data))
		std, err := decodeStepStd([]byte(data))
		if ok && (err != nil || !reflect.DeepEqual(fast, std)) {
			t.Fatalf("for %s\nfast: %+v\nstd:  %+v (%v)", data, fast, std, err)
		}
	}
	for _, v := range variants {
		check(v)
	}
	jsonscantest.RandomEdits(base, 11, `{}[]",:\ ak_0-9ueKſn`+"\x00", check)
}

// TestRowsEncodeAsEncodingJSON: the rows and notifications the cabinet
// stores encode with jsonenc as encoding/json encodes them.
func TestRowsEncodeAsEncodingJSON(t *testing.T) {
	jsonenctest.SameAsEncodingJSON(t, jsonenc.Marshal, situationRow{}, Draft{}, Grant{}, Notification{})
}
