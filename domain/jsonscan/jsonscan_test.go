package jsonscan

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"lifesituations/domain/jsonscan/jsonscantest"
)

// Valid says what json.Valid says, but that it may refuse valid JSON
// nested deeper than maxDepth: on hand-picked texts, then on random edits
// of a recorded event and of random JSON-like texts.
func TestValidIsJSONValid(t *testing.T) {
	texts := []string{``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e`, `1e+`, `.5`, `-.5`,
		`true`, `tru`, `truex`, `null`, `nul`, `false`, ` {"a" : [1, 2.5e-3, "x\u00e9\n", {"b":null}] } `, `{"a":1,}`, `[1,]`,
		`{"a"}`, `{"a":}`, `{,}`, `[,1]`, `{"a":1 "b":2}`, `"\x"`, `"\u12"`, `"\u12G4"`, `"\uABCD"`, "\"\x01\"", "\"\xff\xfe\"",
		`"a`, `[1 2]`, `{"a":1}}`, `{"a":1} x`, `[[[[[]]]]]`, strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		`{"a":true}`, `{"a":false,"b":null}`, `"\/"`, `1 2`, "\t[\r\n]\n"}
	texts = append(texts, recordedStep)
	check := func(s string) {
		got, want := Valid([]byte(s)), json.Valid([]byte(s))
		if got && !want || got != want && depth(s) <= maxDepth {
			t.Errorf("Valid(%q) = %v, json.Valid says %v", s, got, want)
		}
		if got := IsJSON([]byte(s)); got != want {
			t.Errorf("IsJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
	for _, s := range texts {
		check(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "\"{}[],:\\ \t\n0123456789.eE+-abcdefnrtulsuA\x01\xc3\xa9/"
	for range 20000 {
		b := []byte(texts[rng.IntN(len(texts))])
		if len(b) == 0 || rng.IntN(4) == 0 {
			b = make([]byte, rng.IntN(12))
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		} else {
			for range 1 + rng.IntN(3) {
				switch i := rng.IntN(len(b)); rng.IntN(3) {
				case 0:
					b[i] = alphabet[rng.IntN(len(alphabet))]
				case 1:
					b = append(b[:i:i], b[i+1:]...)
				default:
					b = append(b[:i:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
				}
				if len(b) == 0 {
					break
				}
			}
		}
		check(string(b))
	}
}

// depth is how deep brackets nest in s, strings ignored roughly.
func depth(s string) int {
	d, most := 0, 0
	for _, c := range s {
		switch c {
		case '[', '{':
			d++
			most = max(most, d)
		case ']', '}':
			d--
		}
	}
	return most
}

// recordedStep is a step.decided event as the sagas record it.
const recordedStep = `{"situation_id":"9933bcc9-94bb-519f-9346-ef0082d9157d","step_id":"d103c9f0-6456-527a-aaf5-790eeb2fa6fb",` +
	`"decision":{"key":"birth-certificate","step":"birth-certificate","service":"birth-certificate",` +
	`"title":{"ru":"Свидетельство о рождении","en":"Birth certificate"},"mode":"grant","outcome":"granted",` +
	`"applicant":"7031bac2-fda5-40cc-842c-d185aa79b8c3","reasons":[{"rule":"ok","n":-1.5e3}],"opt_out":false,` +
	`"prefill":{"names":["a\"}","{b"],"father_id":null,"sex":"M","n":0.25}},` +
	`"grant_id":"5a75f01c-0237-536e-a5a5-ca9c3675f6c9","decided_at":"2026-01-01T15:00:00+03:00"}`

// Members gives each member's name and value as written, values whole.
func TestMembersSplitsAnObject(t *testing.T) {
	var got []string
	ok := Members([]byte(` { "a" : "x\\\"}" , "b\"":[1,{"c":"]"}] ,"d":-2.5e1,"e":{}}`), func(key, value []byte) bool {
		got = append(got, string(key)+"="+string(value))
		return true
	})
	want := []string{`a="x\\\"}"`, `b\"=[1,{"c":"]"}]`, `d=-2.5e1`, `e={}`}
	if !ok || !slices.Equal(got, want) {
		t.Errorf("Members: %v %q, want %q", ok, got, want)
	}
}

func TestPlainMembersGivesUpAtANameEncodingJSONMightFold(t *testing.T) {
	for _, obj := range []string{`{"a":1,"B":2,"c":3}`, `{"a":1,"\u0062":2,"c":3}`, `{"a":1,"é":2,"c":3}`} {
		var got []string
		ok := PlainMembers([]byte(obj), func(key, value []byte) bool {
			got = append(got, string(key))
			return true
		})
		if ok || !slices.Equal(got, []string{"a"}) {
			t.Errorf("PlainMembers(%s): %v after %q, want false after a", obj, ok, got)
		}
	}
	var got []string
	if !PlainMembers([]byte(`{"a":1,"b_c":2}`), func(key, value []byte) bool {
		got = append(got, string(key))
		return true
	}) || !slices.Equal(got, []string{"a", "b_c"}) {
		t.Errorf("PlainMembers of plain names: %q", got)
	}
}

// Strings gives what encoding/json gives for a []string, or gives up.
func TestStringsIsEncodingJSONs(t *testing.T) {
	for _, v := range []string{`null`, `[]`, `["a"]`, ` [ "a" , "b" ] `, `["a",null]`, `["a",1]`, `["\u0061"]`, `"a"`, `{}`, `[["a"]]`, `["a","b","c"]`} {
		var got, want []string
		ok := Strings(&got, []byte(strings.TrimSpace(v)))
		err := json.Unmarshal([]byte(v), &want)
		if ok && (err != nil || !reflect.DeepEqual(got, want)) {
			t.Errorf("Strings(%s) = %#v, encoding/json: %#v, %v", v, got, want, err)
		}
		if !ok && err == nil && !strings.Contains(v, `\u`) && !strings.Contains(v, "null]") {
			t.Errorf("Strings(%s) gave up on what encoding/json decodes plainly (%#v)", v, want)
		}
	}
}

// String and Bool decode what encoding/json decodes into a string and a
// bool, or give up: never a different value.
func TestStringAndBoolAreEncodingJSONs(t *testing.T) {
	for _, v := range []string{`"a"`, `""`, `"ключ"`, `"\u0061"`, `"a\"b"`, "\"\xff\"", `null`, `1`, `true`, `["a"]`} {
		var got, want string
		ok := String(&got, []byte(v))
		err := json.Unmarshal([]byte(v), &want)
		if ok && (err != nil || got != want || v == `null`) {
			t.Errorf("String(%s) = %q, encoding/json: %q, %v", v, got, want, err)
		}
		if !ok && err == nil && v != `null` && !strings.Contains(v, `\`) && !strings.Contains(v, "\xff") {
			t.Errorf("String(%s) gave up on what encoding/json decodes plainly (%q)", v, want)
		}
	}
	for _, v := range []string{`true`, `false`, `null`, `1`, `"true"`, `tru`} {
		var got, want bool
		ok := Bool(&got, []byte(v))
		err := json.Unmarshal([]byte(v), &want)
		if ok != (err == nil && v != `null`) || ok && got != want {
			t.Errorf("Bool(%s) = %v %v, encoding/json: %v, %v", v, got, ok, want, err)
		}
	}
	if s, ok := Plain([]byte(`name`)); !ok || s != "name" {
		t.Errorf("Plain(name) = %q %v", s, ok)
	}
	if _, ok := Plain([]byte(`na\u006de`)); ok {
		t.Error("Plain took an escaped name as written")
	}
}

// Any gives what encoding/json decodes into an interface{}, or gives up,
// on values of every kind, and on random edits of a draft's pre-filled
// fields.
func TestAnyIsEncodingJSONs(t *testing.T) {
	prefill := `{"amount":728921.9,"child":{"id":"c1","born":"2026-01-02","twins":[true,false,null]},"n":-1e-3,"ru":"Иванова","e":{},"a":[]}`
	check := func(s string) {
		t.Helper()
		if !Valid([]byte(s)) {
			return
		}
		var got any
		ok := Any(&got, []byte(s))
		var want any
		err := json.Unmarshal([]byte(s), &want)
		if ok && (err != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("Any(%s) = %#v, encoding/json gives %#v (%v)", s, got, want, err)
		}
	}
	texts := []string{prefill, `null`, `true`, `false`, `0`, `-0`, `1e400`, `1.5e-7`, `"x"`, `"\u0041"`, `"é"`, `{"\u0041":1}`,
		`{"a":1,"a":2}`, `{"A":1,"a":2}`, `[1,"2",[3,{"4":null}]]`, `{"é":"x"}`}
	for _, s := range texts {
		check(s)
	}
	var v any
	if !Any(&v, []byte(prefill)) {
		t.Fatalf("Any gives up on a plain value: %s", prefill)
	}
	jsonscantest.RandomEdits(prefill, 5, `{}[]",:\ e-+.0123456789truefalsn`+"\x00", check)
}
