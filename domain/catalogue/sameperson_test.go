package catalogue

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// SamePerson agrees with reflect.DeepEqual when any one field differs, for
// every field found by reflection (a field added to Person and left out of
// SamePerson fails here), and on nil against empty lists and maps.
func TestSamePersonIsDeepEqual(t *testing.T) {
	full := func() Person {
		return Person{ID: "a", FamilyName: "b", GivenName: "c", BirthDate: "d", Sex: "e", Citizenship: "f",
			Region: "g", TimeZone: "h", Address: "i", Children: []string{"j"}, Parents: []string{"k"},
			Incomes: map[string]float64{"2024": 1}, Granted: []string{"l"}, Dead: true, PreviousFamilyName: "m"}
	}
	base := full()
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		changed := full()
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("other")
		case reflect.Bool:
			f.SetBool(false)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"other"}))
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]float64{"2024": 2}))
		default:
			t.Fatalf("Person.%s is a %s, which this test cannot change", typ.Field(i).Name, f.Kind())
		}
		if SamePerson(base, changed) {
			t.Errorf("SamePerson misses a change of %s", typ.Field(i).Name)
		}
	}
	// Made afresh for each side: the facts compared never share a map
	// (DeepEqual calls a map equal to itself, NaN or not).
	cases := func() []Person {
		return []Person{
			{}, {Children: []string{}}, {Incomes: map[string]float64{}}, {Incomes: map[string]float64{"x": math.NaN()}},
			{Granted: []string{"a", "b"}}, {Granted: []string{"b", "a"}}, full(),
		}
	}
	for _, p := range cases() {
		for _, q := range cases() {
			if got, want := SamePerson(p, q), reflect.DeepEqual(p, q); got != want {
				t.Errorf("SamePerson(%v, %v) = %v, DeepEqual says %v", p, q, got, want)
			}
		}
	}
	people := func(ps ...Person) map[string]Person {
		m := map[string]Person{}
		for i, p := range ps {
			m[fmt.Sprint(i)] = p
		}
		return m
	}
	for _, c := range []struct{ a, b map[string]Person }{
		{people(base), people(base)}, {people(base), people(base, base)}, {people(base), people(Person{})},
		{nil, map[string]Person{}}, {people(base), map[string]Person{"other": base}},
	} {
		if got, want := SamePeople(c.a, c.b), reflect.DeepEqual(c.a, c.b) || len(c.a) == 0 && len(c.b) == 0; got != want {
			t.Errorf("SamePeople(%v, %v) = %v, want %v", c.a, c.b, got, want)
		}
	}
}
