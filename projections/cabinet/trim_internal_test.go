package cabinet

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan/jsonscantest"
	"lifesituations/domain/situation"
)

// trimFull is trim as it was before the shadowed decoding: the events'
// own types decoded whole, the dropped parts cleared, encoded again.
func trimFull(t *testing.T, eventType string, data json.RawMessage) json.RawMessage {
	t.Helper()
	switch eventType {
	case situation.TypeOpened:
		var o situation.Opened
		if err := json.Unmarshal(data, &o); err != nil {
			t.Fatal(err)
		}
		o.Trigger.Data, o.Parameters = nil, nil
		facts := make(map[string]catalogue.Person, len(o.Facts))
		for id, p := range o.Facts {
			facts[id] = catalogue.Person{ID: p.ID, BirthDate: p.BirthDate}
		}
		o.Facts = facts
		raw, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	case situation.TypeStepDecided:
		var d situation.StepDecided
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		d.Decision.Rules, d.Decision.Values, d.Decision.Parameters = nil, nil, nil
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	return data
}

// TestTrimAsFullDecode: trim keeps byte for byte what decoding the events
// whole and clearing the dropped parts keeps.
func TestTrimAsFullDecode(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	person := catalogue.Person{ID: "p1", FamilyName: "Ivanova", GivenName: "Anna", BirthDate: "1990-01-02", Sex: "F",
		Citizenship: "RU", Region: "77", TimeZone: "Europe/Moscow", Address: "x", Children: []string{"c1"}, Parents: []string{"m", "f"},
		Incomes: map[string]float64{"2025": 1.5e6}, Granted: []string{"svc"}, Dead: true, PreviousFamilyName: "Petrova"}
	params := []catalogue.ParamUse{{Name: "n", Region: "77", Key: "default", Value: 3.5, ValidFrom: "2020-01-01"}}
	opened := situation.Opened{SituationID: uuid.New(), Kind: "birth", Title: catalogue.Text{RU: "р", EN: "b"}, PersonID: "p1",
		Participants: []string{"p2"}, Trigger: situation.Trigger{EventID: uuid.New(), Type: "birth.registered", Stream: "s", Position: 9,
			EventDate: "2026-03-01", Data: json.RawMessage(`{"mother_id":"p1","nested":{"a":[1,2,{"b":null}]}}`)},
		CatalogueVersion: "v", CatalogueHash: "h", RegisterPosition: 7, Parameters: params,
		Facts: map[string]catalogue.Person{"p1": person, "c1": {ID: "c1", BirthDate: "2026-03-01"}}, OpenedAt: at}
	decided := situation.StepDecided{SituationID: uuid.New(), StepID: uuid.New(), GrantID: uuid.New(), DecidedAt: at, ParentStepID: uuid.New(),
		Decision: catalogue.StepDecision{Key: "k[x]", Step: "k", Service: "svc", Title: catalogue.Text{RU: "т", EN: "t"}, Agency: "a",
			OptOut: true, Applicant: "p1", Beneficiary: "c1", Item: map[string]any{"id": "c1"}, Reasons: []catalogue.Reason{{}},
			Values: map[string]any{"income": 12.5, "list": []any{"a"}}, Rules: []catalogue.RuleCheck{{Rule: "r", Passed: true, LegalBasis: "l"}},
			Prefill: map[string]any{"f": "v"}, Editable: []string{"f"}, Deadline: "2026-04-01", Reminders: []string{"P1D"},
			OnExpiry: "withdraw", Registry: "reg", LegalBasis: "law", FollowUps: []string{"next"}, Parameters: params}}
	enc := func(v any) json.RawMessage {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cases := []struct {
		typ  string
		data json.RawMessage
	}{
		{situation.TypeOpened, enc(opened)},
		{situation.TypeOpened, enc(situation.Opened{SituationID: uuid.New(), OpenedAt: at})},
		{situation.TypeOpened, json.RawMessage(`{"kind":"k","facts":null,"parameters":null,"trigger":{"data":null}}`)},
		{situation.TypeOpened, json.RawMessage(`{"kind":"k","facts":{"a":null,"b":{"id":"b","sex":"M"}},"trigger":null}`)},
		{situation.TypeStepDecided, enc(decided)},
		{situation.TypeStepDecided, enc(situation.StepDecided{SituationID: uuid.New(), DecidedAt: at})},
		{situation.TypeStepDecided, json.RawMessage(`{"decision":null}`)},
		{situation.TypeStepDecided, json.RawMessage(`{"decision":{"values":null,"rules":null,"parameters":null,"key":"k"}}`)},
		{situation.TypeRated, json.RawMessage(`{"score":5}`)},
	}
	for i, c := range cases {
		ev, err := trim(c.typ, c.data)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got := ev.Data
		if want := trimFull(t, c.typ, c.data); !bytes.Equal(got, want) {
			t.Errorf("case %d %s:\n got %s\nwant %s", i, c.typ, got, want)
		}
	}
	if _, err := trim(situation.TypeOpened, json.RawMessage(`{"kind":`)); err == nil {
		t.Error("trim of invalid JSON: no error")
	}
}

// A kept log splits into the entries encoding/json gives, whether
// jsonscan splits it or leaves it to encoding/json, and fails where it
// fails.
func TestKeptLogSplitsAsEncodingJSON(t *testing.T) {
	var log []byte
	for _, e := range []logEntry{
		{Type: situation.TypeOpened, Data: json.RawMessage(`{"kind":"k","facts":{"a":{"id":"a"}}}`)},
		{Type: situation.TypeRated, Data: json.RawMessage(`{"score":5,"comment":"\"ok\" \u00e9"}`)},
		{Type: "x\"y", Data: nil},
	} {
		log = appendEntry(log, e)
	}
	check := func(data string) {
		t.Helper()
		var want []logEntry
		wantErr := json.Unmarshal([]byte(data), &want)
		var got []logEntry
		err := eachEntry([]byte(data), func(e logEntry) error {
			got = append(got, e)
			return nil
		})
		if (err == nil) != (wantErr == nil) || err == nil && len(got) != len(want) {
			t.Fatalf("for %s\n got %q (%v)\nwant %q (%v)", data, got, err, want, wantErr)
		}
		for i := range got {
			if err == nil && (got[i].Type != want[i].Type || !bytes.Equal(got[i].Data, want[i].Data)) {
				t.Fatalf("for %s\n got %q\nwant %q", data, got, want)
			}
		}
	}
	check(string(log))
	check(`[]`)
	check(`null`)
	jsonscantest.RandomEdits(string(log), 7, `{}[]",:\ dtT0n`, check)
}
