package personaldata

import "fmt"

// KeyTable holds many persons' keys at once, for a reader of the whole log
// (audit verify): a million keys in a map of strings and slices gave the
// collector three million pointers to follow at every cycle. Here ids of
// a UUID's length are arrays and the secrets one block of bytes, so the
// table holds no pointer the collector scans. Not safe for concurrent
// writes; reads once filled are.
type KeyTable struct {
	uuids   map[[uuidLen]byte]int32 // index in secrets, or erased
	others  map[string]int32
	secrets []byte
}

const (
	uuidLen     = 36
	erasedIndex = -1
)

// NewKeyTable returns an empty table.
func NewKeyTable() *KeyTable {
	return &KeyTable{uuids: map[[uuidLen]byte]int32{}, others: map[string]int32{}}
}

// Add holds a person's key (its secret copied) or erasure.
func (t *KeyTable) Add(person string, k Key) error {
	i := int32(erasedIndex)
	if !k.Erased {
		if len(k.Secret) != KeySize {
			return fmt.Errorf("the key of %s has %d bytes, want %d", person, len(k.Secret), KeySize)
		}
		i = int32(len(t.secrets) / KeySize)
		t.secrets = append(t.secrets, k.Secret...)
	}
	if len(person) == uuidLen {
		t.uuids[[uuidLen]byte([]byte(person))] = i
	} else {
		t.others[person] = i
	}
	return nil
}

// Len is the number of persons held.
func (t *KeyTable) Len() int { return len(t.uuids) + len(t.others) }

// Key returns a person's key, without its cipher, and whether it is held.
func (t *KeyTable) Key(person string) (Key, bool) {
	var (
		i  int32
		ok bool
	)
	if len(person) == uuidLen {
		i, ok = t.uuids[[uuidLen]byte([]byte(person))]
	} else {
		i, ok = t.others[person]
	}
	switch {
	case !ok:
		return Key{}, false
	case i == erasedIndex:
		return Key{Erased: true}, true
	}
	at := int(i) * KeySize
	return Key{Secret: t.secrets[at : at+KeySize : at+KeySize]}, true
}
