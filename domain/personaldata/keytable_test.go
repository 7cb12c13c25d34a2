package personaldata_test

import (
	"bytes"
	"fmt"
	"testing"

	"lifesituations/domain/personaldata"
)

func TestKeyTableGivesWhatWasAdded(t *testing.T) {
	tab := personaldata.NewKeyTable()
	secret := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, personaldata.KeySize) }
	// Ids of a UUID's length and others, keys and erasures.
	persons := []string{"8cb2182e-19a1-49c3-851c-70922f2086ae", "short", "", "59acbe99-e726-4e09-9877-157d9950fe09", "a-much-longer-id-than-a-uuid-is-at-all"}
	for i, p := range persons {
		k := personaldata.Key{Secret: secret(i + 1)}
		if i == 3 {
			k = personaldata.Key{Erased: true}
		}
		if err := tab.Add(p, k); err != nil {
			t.Fatal(err)
		}
	}
	if tab.Len() != len(persons) {
		t.Fatalf("Len %d, want %d", tab.Len(), len(persons))
	}
	for i, p := range persons {
		k, ok := tab.Key(p)
		switch {
		case !ok:
			t.Fatalf("%q: not held", p)
		case i == 3 && (!k.Erased || k.Secret != nil):
			t.Fatalf("%q: %+v, want erased", p, k)
		case i != 3 && (k.Erased || !bytes.Equal(k.Secret, secret(i+1))):
			t.Fatalf("%q: %+v, want secret %d", p, k, i+1)
		}
	}
	for _, p := range []string{"8cb2182e-19a1-49c3-851c-70922f2086af", "shor"} {
		if k, ok := tab.Key(p); ok {
			t.Fatalf("%q: held (%+v), never added", p, k)
		}
	}
	// A key given out cannot overwrite its neighbour's secret.
	k, _ := tab.Key(persons[0])
	_ = append(k.Secret, 0xff)
	if next, _ := tab.Key(persons[1]); !bytes.Equal(next.Secret, secret(2)) {
		t.Fatal("appending to a key's secret changed the next key")
	}
	err := tab.Add("x", personaldata.Key{Secret: []byte("too short")})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(fmt.Sprint(personaldata.KeySize))) {
		t.Fatalf("a short secret: %v", err)
	}
}
