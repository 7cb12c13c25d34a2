package audit

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestEqualJSONGivesSameJSONsVerdict(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":{"c":[1,{"x":"y","w":null}],"d":true}}`, `{"b":{"d":true,"c":[1,{"w":null,"x":"y"}]},"a":1}`, true},
		{` { "a" : "x y" , "b" : [ ] } `, `{"b":[],"a":"x y"}`, true},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":"x"}`, `{"a":"y"}`, false},
		{`{"a":"x"}`, `{"a":"x","b":null}`, false},
		{`{"a":1.0,"b":"é"}`, `{"b":"\u00e9","a":1}`, true}, // left to sameJSON
		{`{"a":1,"a":2}`, `{"a":2}`, true},                  // duplicates: the last wins, as decoded
		{`{"a":1,"a":2}`, `{"a":2,"a":1}`, false},
		{`{"a":"q\"}"}`, `{"a":"q\"}"}`, true},
		{`{"a":"q\"}","b":1}`, `{"b":1,"a":"q\"}"}`, true},
		{`{"a":`, `{"a":1}`, false},
		{`{"k":{"z":1,"y":{"b":2,"a":[{"d":4,"c":3}]}}}`, `{"k":{"y":{"a":[{"c":3,"d":4}],"b":2},"z":1}}`, true},
	}
	for _, c := range cases {
		if got := equalJSON([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("equalJSON(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := sameJSON([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("sameJSON(%s, %s) = %v: the case is wrong", c.a, c.b, got)
		}
	}
	// Random values, marshalled as the sagas do (maps: keys sorted) and
	// shuffled: the same verdict as sameJSON, equal or changed.
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 500 {
		v := randomValue(r, 3)
		a, _ := json.Marshal(v)
		b := shuffled(r, v)
		if !equalJSON(a, b) {
			t.Fatalf("%d: %s and %s differ", n, a, b)
		}
		w := randomValue(r, 3)
		c, _ := json.Marshal(w)
		if got, want := equalJSON(a, c), sameJSON(a, c); got != want {
			t.Fatalf("%d: equalJSON(%s, %s) = %v, sameJSON %v", n, a, c, got, want)
		}
	}
}

func randomValue(r *rand.Rand, depth int) any {
	switch k := r.IntN(6); {
	case depth == 0 || k == 0:
		return []any{"x", "y\"z", 1.5, true, nil, "é"}[r.IntN(6)]
	case k < 3:
		m := map[string]any{}
		for i := range r.IntN(4) {
			m[fmt.Sprintf("k%d", r.IntN(3)+i)] = randomValue(r, depth-1)
		}
		return m
	default:
		l := []any{}
		for range r.IntN(3) {
			l = append(l, randomValue(r, depth-1))
		}
		return l
	}
}

// shuffled marshals v with each object's members in a random order.
func shuffled(r *rand.Rand, v any) []byte {
	switch x := v.(type) {
	case map[string]any:
		out := []byte{'{'}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for i, k := range keys {
			if i > 0 {
				out = append(out, ',')
			}
			kb, _ := json.Marshal(k)
			out = append(append(append(out, kb...), ':'), shuffled(r, x[k])...)
		}
		return append(out, '}')
	case []any:
		out := []byte{'['}
		for i, e := range x {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, shuffled(r, e)...)
		}
		return append(out, ']')
	default:
		b, _ := json.Marshal(x)
		return b
	}
}

// The canonical text itself: members in key order at every depth,
// duplicates kept in their order, whitespace outside strings dropped.
func TestCanonicalOrdersMembers(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1,"a":{"d":[{"y":1,"x":2}],"c":" s "}}`: `{"a":{"c":" s ","d":[{"x":2,"y":1}]},"b":1}`,
		` { "a" : 1 , "a" : 2 , "0" : [ ] } `:         `{"0":[],"a":1,"a":2}`,
		`{"a":1,"b":{"z":{},"y":"q\"}"}}`:             `{"a":1,"b":{"y":"q\"}","z":{}}}`,
		`[{"b":1,"a":2},3]`:                           `[{"a":2,"b":1},3]`,
	} {
		got, ok := canonical(nil, []byte(in))
		if !ok || string(got) != want {
			t.Errorf("canonical(%s) = %s %v, want %s", in, got, ok, want)
		}
	}
}
