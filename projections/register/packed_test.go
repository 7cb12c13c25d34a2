package register

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// filledFacts sets every field of a row, found by reflection, to a value
// of its own, so that a field added to Facts (or catalogue.Person) and
// left out of the packed encoding comes back zero.
func filledFacts(t *testing.T) Facts {
	t.Helper()
	var f Facts
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for i := range v.NumField() {
			field := v.Field(i)
			n++
			switch field.Kind() {
			case reflect.Struct:
				fill(field)
			case reflect.String:
				field.SetString(fmt.Sprintf("value %d of %s", n, v.Type().Field(i).Name))
			case reflect.Bool:
				field.SetBool(true)
			case reflect.Slice:
				field.Set(reflect.ValueOf([]string{fmt.Sprintf("first %d", n), fmt.Sprintf("second %d", n)}))
			case reflect.Map:
				field.Set(reflect.ValueOf(map[string]float64{"2024": float64(n) + 0.25, "2025": -float64(n)}))
			default:
				t.Fatalf("Facts.%s is a %s: the packed encoding and this test know no such field", v.Type().Field(i).Name, field.Kind())
			}
		}
	}
	fill(reflect.ValueOf(&f).Elem())
	return f
}

func TestPackedRowKeepsEveryField(t *testing.T) {
	full := filledFacts(t)
	empty := Facts{}
	empty.ID = "a-non-uuid-id"
	empty.Children, empty.Granted, empty.Incomes = []string{}, []string{}, map[string]float64{}
	for name, want := range map[string]Facts{"every field set": full, "empty and nil lists": empty, "zero": {}} {
		got, err := decodePacked(appendPacked(nil, &want))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: packed and decoded\n got %#v\nwant %#v", name, got, want)
		}
	}
}

func TestPackedRowsOverwriteAndGrow(t *testing.T) {
	p := newPackedRows()
	put := func(f Facts) {
		t.Helper()
		if err := p.Put([]byte(f.ID), appendPacked(nil, &f)); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"7b0e3c52-4d4f-4b8e-9a39-0f4b1c2d3e4f", "other-id", "7B0E3C52-4D4F-4B8E-9A39-0F4B1C2D3E4F"}
	for i, id := range ids {
		f := Facts{}
		f.ID, f.GivenName = id, fmt.Sprint("person ", i)
		put(f)
	}
	// Longer than its room, shorter than it, longer than a chunk.
	long := Facts{}
	long.ID, long.Address = ids[0], strings.Repeat("a long address ", 100)
	put(long)
	short := Facts{}
	short.ID, short.Children = ids[1], []string{"c"}
	put(short)
	huge := Facts{}
	huge.ID, huge.Address = ids[2], strings.Repeat("x", packedChunk+10)
	put(huge)
	for _, want := range []Facts{long, short, huge} {
		got, ok := readFacts(p, want.ID)
		if !ok {
			t.Fatalf("read %s: not found", want.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read %s: got %.80v, want %.80v", want.ID, got, want)
		}
	}
	if p.Get([]byte("unknown")) != nil {
		t.Error("an unknown id was found")
	}
	if err := p.Delete([]byte(ids[1])); err != nil || p.Get([]byte(ids[1])) != nil {
		t.Errorf("a deleted row is still found (%v)", err)
	}
}

func TestPackedRowAppendsDoNotShareItems(t *testing.T) {
	f := filledFacts(t)
	got, err := decodePacked(appendPacked(nil, &f))
	if err != nil {
		t.Fatal(err)
	}
	parents := append([]string(nil), got.Parents...)
	got.Children = append(got.Children, "a third child")
	if !reflect.DeepEqual(got.Parents, parents) {
		t.Errorf("appending a child changed the parents: %v", got.Parents)
	}
}

func TestPackedRowRefusesATruncatedRow(t *testing.T) {
	f := filledFacts(t)
	b := appendPacked(nil, &f)
	for n := range len(b) {
		if _, err := decodePacked(b[:n]); err == nil {
			t.Fatalf("a row cut at %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodePacked(append(b, 0)); err == nil {
		t.Fatal("a row with a byte left over decoded")
	}
}
