// Package jsonscantest helps hold a fast decoder to encoding/json: it
// edits a recorded event at random, for the decoder and encoding/json to
// be compared on each copy.
package jsonscantest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

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

// MemberEdits returns copies of base in which the first member of each
// name is spelt with a capital, spelt with an escape, given null and then
// repeated, or given a number, a string, an array or an object, the rest
// of base kept: edits a fast decoder must decode as encoding/json does or
// give up on. It fails on a name base does not hold.
func MemberEdits(base string, names ...string) ([]string, error) {
	var out []string
	for _, name := range names {
		m := `"` + name + `":`
		if !strings.Contains(base, m) {
			return nil, fmt.Errorf("no member %s in %s", name, base)
		}
		for _, edit := range []string{
			`"` + strings.ToUpper(name[:1]) + name[1:] + `":`,
			fmt.Sprintf(`"\u%04x%s":`, name[0], name[1:]),
			m + `null,` + m,
			m + `7,"x":`,
			m + `"s","y":`,
			m + `["s"],"z":`,
			m + `{"ru":"a","en":"b","name":"c","agency":"d"},"w":`,
		} {
			out = append(out, strings.Replace(base, m, edit, 1))
		}
	}
	return out, nil
}
