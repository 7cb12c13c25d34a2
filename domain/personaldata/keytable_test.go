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
	// A key given out is the holder's own: changing it changes nothing
	// held, and neither does the table's later use of its slot.
	k, _ := tab.Key(persons[0])
	k.Secret[0] ^= 0xff
	if again, _ := tab.Key(persons[0]); !bytes.Equal(again.Secret, secret(1)) {
		t.Fatal("changing a key given out changed the table")
	}
	k, _ = tab.Key(persons[1])
	tab.Delete(persons[1])
	if _, ok := tab.Key(persons[1]); ok || tab.Len() != len(persons)-1 {
		t.Fatalf("%q held after its deletion (%d held)", persons[1], tab.Len())
	}
	if err := tab.Add("new", personaldata.Key{Secret: secret(9)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Secret, secret(2)) {
		t.Fatal("a slot used again changed a key given out before")
	}
	// Adding a person again replaces their key.
	if err := tab.Add(persons[0], personaldata.Key{Erased: true}); err != nil {
		t.Fatal(err)
	}
	if k, _ := tab.Key(persons[0]); !k.Erased || tab.Len() != len(persons) {
		t.Fatalf("%q added again: %+v (%d held)", persons[0], k, tab.Len())
	}
	want := map[string][]byte{"new": secret(9), persons[2]: secret(3), persons[4]: secret(5)}
	for p, sec := range want {
		if k, _ := tab.Key(p); !bytes.Equal(k.Secret, sec) {
			t.Fatalf("%q after the slots' reuse: %x", p, k.Secret)
		}
	}
	tab.Evict(2)
	left := 0
	for _, p := range append(persons, "new") {
		if k, ok := tab.Key(p); ok {
			left++
			if sec, ok := want[p]; ok && !bytes.Equal(k.Secret, sec) {
				t.Fatalf("%q after an eviction: %x", p, k.Secret)
			}
		}
	}
	if left != len(persons)-2 || tab.Len() != left {
		t.Fatalf("%d held after evicting 2 of %d (Len %d)", left, len(persons), tab.Len())
	}
	err := tab.Add("x", personaldata.Key{Secret: []byte("too short")})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(fmt.Sprint(personaldata.KeySize))) {
		t.Fatalf("a short secret: %v", err)
	}
}
