package lifeevent

import (
	"slices"
	"testing"
)

// The scan of plain names finds what encoding/json's tokens find, and
// leaves escaped names to them.
func TestDuplicateKeyPlainAgreesWithDecoded(t *testing.T) {
	cases := []struct {
		data string
		path []string // nil: no repeat
	}{
		{`{}`, nil},
		{`[]`, nil},
		{`"x"`, nil},
		{`{"a":1,"b":{"a":2},"c":[{"a":1},{"b":2}]}`, nil},
		{`{"a":1,"a":2}`, []string{"a"}},
		{` { "a" : 1 , "b" : { "x" : [ 1 , { "y":1, "y":2 } ] } } `, []string{"b", "x", "1", "y"}},
		{`{"a":[[],[{"k":1,"l":2,"k":3}]]}`, []string{"a", "1", "0", "k"}},
		{`{"a":{"b":1},"a":{"b":1}}`, []string{"a"}},
		{`{"n1":1,"n2":1,"n3":1,"n4":1,"n5":1,"n6":1,"n7":1,"n8":1,"n9":1,"n10":1,"n11":1,"n12":1,"n13":1,"n14":1,"n15":1,"n16":1,"n17":1,"n3":2}`, []string{"n3"}},
	}
	for _, c := range cases {
		got, found, ok := duplicateKeyPlain([]byte(c.data))
		if !ok {
			t.Fatalf("%s: the plain scan gave up", c.data)
		}
		want, wantFound := duplicateKeyDecoded([]byte(c.data))
		if found != (c.path != nil) || wantFound != found || found && (!slices.Equal(got, c.path) || !slices.Equal(want, c.path)) {
			t.Fatalf("%s: plain %v %v, decoded %v %v, want %v", c.data, got, found, want, wantFound, c.path)
		}
	}
	// "\u0061" is "a": only decoding tells, so the plain scan gives up and
	// duplicateKey still finds it.
	escaped := []byte(`{"a":1,"\u0061":2}`)
	if _, _, ok := duplicateKeyPlain(escaped); ok {
		t.Fatal("the plain scan did not give up on an escaped name")
	}
	if path, found := duplicateKey(escaped); !found || !slices.Equal(path, []string{"a"}) {
		t.Fatalf("escaped repeat: %v %v", path, found)
	}
}
