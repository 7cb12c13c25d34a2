package personaldata

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decodeObject splits objects into the members encoding/json finds, value
// bytes included, and encode gives a compact object back unchanged.
func TestDecodeObjectAgreesWithEncodingJSON(t *testing.T) {
	valid := []string{
		`{}`,
		` { "a" : 1 , "b":"x" } `,
		`{"a\"b":"q\"uo\\","c\\":"\\\\","d":"\u00e9"}`,
		`{"ключ":"значение","e":[1,"]}",{"f":"{["}],"g":{"h":{"i":[[]]}}}`,
		`{"n":-1.5e+3,"t":true,"f":false,"z":null,"s":""}`,
		`{"html":"<a>&","dup":1,"dup":2}`,
	}
	for _, in := range valid {
		o, err := decodeObject([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		want := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got := map[string]json.RawMessage{}
		for i := range o.members {
			got[o.key(i)] = o.val(i)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d members, encoding/json finds %d", in, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Errorf("%s: member %q is %s, encoding/json reads %s", in, k, got[k], v)
			}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if enc, err := o.encode(); err != nil || (!bytes.Contains([]byte(in), []byte("dup")) && !bytes.Equal(enc, compact.Bytes())) {
			t.Errorf("%s: encoded again as %s (%v), want %s", in, enc, err, compact.Bytes())
		}
	}
	invalid := []string{``, `[1]`, `"s"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":"x}`,
		`{"a":[1}`, `{"a":{"b":1]}`, `{"a":1}x`, `{"a":1 "b":2}`, `{a:1}`, `{"a":"\"}`}
	for _, in := range invalid {
		if o, err := decodeObject([]byte(in)); err == nil {
			t.Errorf("%s: accepted as %+v", in, o.members)
		}
	}
}
