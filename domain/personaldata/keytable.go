package personaldata

import "fmt"

// KeyTable holds many persons' keys at once: every key, for a reader of the
// whole log (audit verify), or a key store's cache. A million keys in a map
// of strings to slices gave the collector three million pointers to follow
// at every cycle; here ids of a UUID's length are arrays and the secrets
// one block of bytes, so the table holds no pointer the collector scans.
// Key gives a copy of the secret: a slot freed by Delete or Evict is used
// again, and a key handed out must not change under its holder. Not safe
// for concurrent writes.
type KeyTable struct {
	uuids   map[[uuidLen]byte]int32 // slot in secrets, or erasedSlot
	others  map[string]int32
	secrets []byte
	free    []int32 // slots to use again
}

const (
	uuidLen    = 36
	erasedSlot = -1
)

// NewKeyTable returns an empty table.
func NewKeyTable() *KeyTable {
	return &KeyTable{uuids: map[[uuidLen]byte]int32{}, others: map[string]int32{}}
}

// Add holds a person's key (its secret copied) or erasure, in place of any
// held before.
func (t *KeyTable) Add(person string, k Key) error {
	if !k.Erased && len(k.Secret) != KeySize {
		return fmt.Errorf("the key of %s has %d bytes, want %d", person, len(k.Secret), KeySize)
	}
	t.Delete(person)
	slot := int32(erasedSlot)
	if !k.Erased {
		if n := len(t.free); n > 0 {
			slot, t.free = t.free[n-1], t.free[:n-1]
			copy(t.secrets[int(slot)*KeySize:], k.Secret)
		} else {
			slot = int32(len(t.secrets) / KeySize)
			t.secrets = append(t.secrets, k.Secret...)
		}
	}
	if len(person) == uuidLen {
		t.uuids[[uuidLen]byte([]byte(person))] = slot
	} else {
		t.others[person] = slot
	}
	return nil
}

// Delete forgets a person's key or erasure.
func (t *KeyTable) Delete(person string) {
	var (
		slot int32
		ok   bool
	)
	if len(person) == uuidLen {
		id := [uuidLen]byte([]byte(person))
		if slot, ok = t.uuids[id]; ok {
			delete(t.uuids, id)
		}
	} else if slot, ok = t.others[person]; ok {
		delete(t.others, person)
	}
	if ok {
		t.release(slot)
	}
}

// release makes a deleted person's slot free to use again.
func (t *KeyTable) release(slot int32) {
	if slot != erasedSlot {
		t.free = append(t.free, slot)
	}
}

// Evict forgets n arbitrary persons (map order), to make room in a cache.
func (t *KeyTable) Evict(n int) {
	for id, slot := range t.uuids {
		if n <= 0 {
			return
		}
		delete(t.uuids, id)
		t.release(slot)
		n--
	}
	for person := range t.others {
		if n <= 0 {
			return
		}
		t.Delete(person)
		n--
	}
}

// Len is the number of persons held.
func (t *KeyTable) Len() int { return len(t.uuids) + len(t.others) }

// Key returns a person's key, without its cipher and with a secret of its
// own, and whether it is held.
func (t *KeyTable) Key(person string) (Key, bool) {
	var (
		slot int32
		ok   bool
	)
	if len(person) == uuidLen {
		slot, ok = t.uuids[[uuidLen]byte([]byte(person))]
	} else {
		slot, ok = t.others[person]
	}
	switch {
	case !ok:
		return Key{}, false
	case slot == erasedSlot:
		return Key{Erased: true}, true
	}
	at := int(slot) * KeySize
	return Key{Secret: append([]byte(nil), t.secrets[at:at+KeySize]...)}, true
}
