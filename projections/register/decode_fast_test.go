package register

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

// fastCase is one of the events the register decodes itself, as recorded.
type fastCase struct {
	name string
	data string
	fast func([]byte) (any, bool)
	std  func([]byte) (any, error)
}

func fastCases(t *testing.T) []fastCase {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	father := uuid.New()
	birth, _ := lifeevent.ParseDate("2016-06-23")
	sit := uuid.New()
	step := situation.StepID(sit, "kindergarten")
	grant := situation.GrantID(step)
	return []fastCase{
		{"person.registered", enc(lifeevent.PersonRegisteredData{PersonID: uuid.New(), FamilyName: "Дмитриев", GivenName: "Роман",
			BirthDate: birth, Sex: lifeevent.SexMale, Citizenship: "RU", Region: "RU-SPE", TimeZone: "Europe/Moscow",
			Address: "Санкт-Петербург, ул. Школьная, д. 132, кв. 272"}),
			func(b []byte) (any, bool) { return decodeRegisteredFast(b) },
			func(b []byte) (any, error) { return lifeevent.Decode(lifeevent.PersonRegistered, b) }},
		{"birth.registered", enc(lifeevent.BirthRegisteredData{RecordNumber: "590-2016-00078962", ChildID: uuid.New(),
			ChildFamilyName: "Зайцев", ChildGivenName: "Кирилл", BirthDate: birth, Sex: lifeevent.SexMale, MotherID: uuid.New(),
			FatherID: &father, Region: "RU-PER", TimeZone: "Asia/Yekaterinburg", Address: "Пермь, ул. Пушкина, д. 42"}),
			func(b []byte) (any, bool) { return decodeBornFast(b) },
			func(b []byte) (any, error) { return lifeevent.Decode(lifeevent.BirthRegistered, b) }},
		{"situation.step_decided", enc(situation.StepDecided{SituationID: sit, StepID: step, GrantID: grant, EntryID: situation.EntryID(grant),
			Decision: catalogue.StepDecision{Key: "kindergarten", Step: "kindergarten", Service: "kindergarten",
				Outcome: catalogue.OutcomeGranted, OptOut: true, Applicant: uuid.NewString(), Beneficiary: uuid.NewString(),
				Reasons: []catalogue.Reason{{Rule: "ok"}}, Prefill: map[string]any{"names": []any{"a\"}", "{b"}, "n": 1.5}}}),
			func(b []byte) (any, bool) { return decodeStepDecidedFast(b) },
			func(b []byte) (any, error) {
				var e stepDecided
				err := json.Unmarshal(b, &e)
				return &e, err
			}},
	}
}

// The register's own decoding of the commonest events gives what encoding/json
// gives, or gives up: on the events as recorded (where it must not give up,
// or it gains nothing) and on edited ones, including members spelt in
// another case, escaped, repeated, null or of another type, and on random
// byte edits.
func TestFastDecodingIsEncodingJSONs(t *testing.T) {
	for _, c := range fastCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if _, ok := c.fast([]byte(c.data)); !ok {
				t.Fatalf("the fast decoding gives up on the event as recorded: %s", c.data)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(c.data), &m); err != nil {
				t.Fatal(err)
			}
			var variants []string
			variants = append(variants, c.data, " \n"+strings.ReplaceAll(c.data, ",", " ,\n ")+"\t", "null", "[]", "{}", `{"x":1}`)
			for key, value := range m {
				member := `"` + key + `":` + string(value)
				for _, edit := range []string{
					`"` + strings.ToUpper(key) + `":` + string(value),
					`"` + key[:1] + `\u00` + strings.TrimPrefix(enc2hex(key[1]), "") + key[2:] + `":` + string(value),
					`"` + key + `":null`, `"` + key + `":7`, `"` + key + `":true`, `"` + key + `":""`, `"` + key + `":"x"`,
					`"` + key + `":{}`, `"` + key + `":"a\u0062"`, `"` + key + `":"2016-02-30"`,
					member + `,` + member, member + `,"` + key + `":"e7544e0c-6ad7-4a37-814c-e4e138dec39d"`,
					member + `,"` + key + `":null`, `"ſ` + key[1:] + `":"x"`,
				} {
					variants = append(variants, strings.Replace(c.data, member, edit, 1))
				}
			}
			if d, ok := m["decision"]; ok {
				for _, edit := range []string{`"opt_out":false`, `"opt_out":"true"`, `"opt_out":null`, `"OPT_OUT":false`,
					`"outcome":"drafted"`, `"outcome":"gr\u0061nted"`, `"applicant":7`, `"service":null`} {
					variants = append(variants,
						strings.Replace(c.data, string(d), `{`+edit+`,`+string(d)[1:], 1),
						strings.Replace(c.data, string(d), string(d)+`,"decision":{`+edit+`}`, 1))
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 5000 {
				b := []byte(c.data)
				for range 1 + rng.IntN(3) {
					const bytes = `"{}[],:\ ab0AZ_-9eun`
					b[rng.IntN(len(b))] = bytes[rng.IntN(len(bytes))]
				}
				variants = append(variants, string(b))
			}
			for _, v := range variants {
				got, ok := c.fast([]byte(v))
				if !ok {
					continue
				}
				want, err := c.std([]byte(v))
				if err != nil {
					t.Errorf("fast decoding of %s succeeds where encoding/json fails: %v", v, err)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("fast decoding of %s:\n got %+v\nwant %+v", v, got, want)
				}
			}
		})
	}
}

func enc2hex(c byte) string { return "0123456789abcdef"[c>>4:c>>4+1] + "0123456789abcdef"[c&15:c&15+1] }

// A fold given an event's data decoded ahead folds that, not the event's
// data again: a replay's readers decode, the fold only applies.
func TestApplyFoldsTheDataDecodedAhead(t *testing.T) {
	event := func(id uuid.UUID, name string) eventstore.RecordedEvent {
		data, err := json.Marshal(lifeevent.PersonRegisteredData{PersonID: id, FamilyName: name, GivenName: "Anna",
			BirthDate: lifeevent.Date{Year: 1990, Month: 1, Day: 2}, Sex: "F", Citizenship: "RU"})
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.RecordedEvent{Stream: lifeevent.StreamPrefix + id.String(), Position: 1,
			Event: eventstore.Event{ID: uuid.New(), Type: string(lifeevent.PersonRegistered), Data: data}}
	}
	x, y := uuid.New(), uuid.New()
	ex, ey := event(x, "Petrova"), event(y, "Ivanova")
	dx := Decode(&ex)
	if dx.registered == nil {
		t.Fatal("Decode gives nothing for a person.registered as registries write it")
	}
	m := NewMemory()
	if err := m.ApplyDecoded([]eventstore.RecordedEvent{ey}, []Decoded{dx}); err != nil {
		t.Fatal(err)
	}
	if got := m.Family(x.String())[x.String()].FamilyName; got != "Petrova" {
		t.Errorf("the fold did not fold the decoded data: family name %q", got)
	}
	if got := m.Family(y.String()); len(got) != 0 {
		t.Errorf("the fold decoded the event's data again: %v", got)
	}
}
