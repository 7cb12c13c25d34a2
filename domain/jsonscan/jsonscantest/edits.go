// Package jsonscantest helps hold a fast decoder to encoding/json: it
// edits a recorded event at random, for the decoder and encoding/json to
// be compared on each copy.
package jsonscantest

import "math/rand/v2"

// RandomEdits calls check with 5,000 copies of base, each with one to
// three bytes replaced, removed or inserted at random (from alphabet).
func RandomEdits(base string, seed uint64, alphabet string, check func(string)) {
	r := rand.New(rand.NewPCG(seed, seed))
	for range 5000 {
		b := []byte(base)
		for range 1 + r.IntN(3) {
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b[i] = alphabet[r.IntN(len(alphabet))]
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			}
		}
		check(string(b))
	}
}
