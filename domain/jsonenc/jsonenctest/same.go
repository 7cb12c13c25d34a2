// Package jsonenctest holds an encoder to encoding/json: it fills values
// of the given types at random and wants the same bytes from both.
package jsonenctest

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// SameAsEncodingJSON encodes 300 values of each type of zeros with
// marshal, every field filled at random (strings that encoding/json
// escapes or mends, floats at the edges of its two notations, nil and
// empty lists and maps, free JSON in the any fields), and fails t at the
// first whose bytes are not encoding/json's.
func SameAsEncodingJSON(t testing.TB, marshal func(any) (json.RawMessage, error), zeros ...any) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for _, zero := range zeros {
		for range 300 {
			v := reflect.New(reflect.TypeOf(zero)).Elem()
			fill(r, v, 0)
			want, wantErr := json.Marshal(v.Interface())
			got, err := marshal(v.Interface())
			if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
				t.Fatalf("%T:\n got %s (%v)\nwant %s (%v)", zero, got, err, want, wantErr)
			}
		}
	}
}

var (
	strs = []string{"", "plain", "Иванова Анна", "<b>&amp;</b>", "quote \" and \\ backslash", "tab\tnewline\ncontrol\x01\x1f",
		"line sep \u2028 para sep \u2029", "invalid \xff\xfe utf-8", "emoji 👩‍👧", "\x7f del", "2026-01-02"}
	floats = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 123456.789, 1e20, 1e21, 1.5e21, 1e-6, 1e-7, 9.999999e-7,
		728921.9, 5e-324, math.MaxFloat64, -math.MaxFloat64, 1 << 53, 0.000001234}
)

// fill sets v to a random value of its type.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Type() {
	case reflect.TypeOf(time.Time{}):
		zones := []*time.Location{time.UTC, time.FixedZone("", 3*3600), time.FixedZone("", -(9*3600 + 30*60))}
		v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(zones[r.IntN(len(zones))])))
		return
	case reflect.TypeOf(json.RawMessage{}):
		raw, _ := json.Marshal(anyValue(r, depth))
		v.SetBytes(raw)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), depth)
			}
		}
	case reflect.String:
		v.SetString(strs[r.IntN(len(strs))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64N(1 << 40))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(floats[r.IntN(len(floats))])
	case reflect.Array:
		for i := range v.Len() {
			fill(r, v.Index(i), depth)
		}
	case reflect.Slice:
		switch n := r.IntN(4); {
		case n == 0 || depth > 3:
			// nil
		default:
			s := reflect.MakeSlice(v.Type(), n-1, n-1)
			for i := range s.Len() {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		if n := r.IntN(4); n > 0 && depth <= 3 {
			m := reflect.MakeMap(v.Type())
			for range n - 1 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(r, k, depth+1)
				fill(r, e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Pointer:
		if r.IntN(2) == 0 && depth <= 3 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Interface:
		if a := anyValue(r, depth); a != nil {
			v.Set(reflect.ValueOf(a))
		}
	}
}

// anyValue is free JSON as encoding/json decodes it, or as the sagas
// build it (ints among the floats).
func anyValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(8); {
	case n == 0:
		return nil
	case n == 1:
		return r.IntN(2) == 0
	case n == 2:
		return floats[r.IntN(len(floats))]
	case n == 3:
		return r.IntN(1000)
	case n == 4 && depth < 3:
		a := make([]any, r.IntN(3))
		for i := range a {
			a[i] = anyValue(r, depth+1)
		}
		return a
	case n == 5 && depth < 3:
		m := map[string]any{}
		for range r.IntN(4) {
			m[strs[r.IntN(len(strs))]] = anyValue(r, depth+1)
		}
		return m
	}
	return strs[r.IntN(len(strs))]
}
