package personaldata

import (
	"bytes"
	"math/rand"
	"testing"
)

// indexEnvelope finds what bytes.Index finds, from any offset, in texts
// made of the prefix's bytes, the prefix cut anywhere and whole.
func TestIndexEnvelopeAgreesWithIndex(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	parts := []string{`{`, `"`, `s`, `v`, `1`, `:`, `x`, `"sealed"`, `{"sealed":"v1`, `{"sealed":"v1:`, `"v1:`, `sealed":"v1:`}
	for range 20000 {
		var b bytes.Buffer
		for range r.Intn(12) {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		data := b.Bytes()
		for from := 0; from <= len(data); from++ {
			want := bytes.Index(data[from:], envelopePrefix)
			if want >= 0 {
				want += from
			}
			if got := indexEnvelope(data, from); got != want {
				t.Fatalf("%q from %d: %d, want %d", data, from, got, want)
			}
		}
		if Contains(data) != bytes.Contains(data, envelopePrefix) {
			t.Fatalf("%q: Contains is %v", data, Contains(data))
		}
	}
}
