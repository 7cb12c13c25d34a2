package personaldata

import (
	"bytes"
	"math/rand"
	"regexp"
	"testing"
)

// indexEnvelope finds what a regular expression for an envelope's head
// finds, from any offset, in texts made of the head's bytes, the head cut
// anywhere and whole, of every version.
func TestIndexEnvelopeAgreesWithIndex(t *testing.T) {
	head := regexp.MustCompile(`\{"sealed":"v[0-9]:`)
	r := rand.New(rand.NewSource(1))
	parts := []string{`{`, `"`, `s`, `v`, `1`, `2`, `:`, `x`, `"sealed"`, `{"sealed":"v1`, `{"sealed":"v1:`, `"v1:`,
		`sealed":"v1:`, `{"sealed":"v2:`, `{"sealed":"v`, `{"sealed":"vx:`, `{"sealed":"v12:`}
	for range 20000 {
		var b bytes.Buffer
		for range r.Intn(12) {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		data := b.Bytes()
		for from := 0; from <= len(data); from++ {
			want := -1
			if loc := head.FindIndex(data[from:]); loc != nil {
				want = loc[0] + from
			}
			if got := indexEnvelope(data, from); got != want {
				t.Fatalf("%q from %d: %d, want %d", data, from, got, want)
			}
		}
		if Contains(data) != head.Match(data) {
			t.Fatalf("%q: Contains is %v", data, Contains(data))
		}
	}
}
