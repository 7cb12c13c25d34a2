package audit

import (
	"bytes"
	"encoding/json"

	"lifesituations/domain/personaldata"
)

// erasedMarker is personaldata.Marker as it appears in JSON.
var erasedMarker = []byte(`"` + personaldata.Marker + `"`)

// alignErased returns recorded and replayed with every string erased on
// one side (personaldata.Marker) erased on the other too: an erased
// personal value cannot be compared, and need not be, since no rule
// decides on a name or an address. The copy of a value in a decision
// follows the applicant's key while the replay reads it from its owner's
// (a child's name pre-filled in the mother's application), so one side may
// be erased and not the other. Equal bytes (nearly every decision
// replays byte for byte), and bytes without a marker on either side, are
// returned as they are, undecoded.
func alignErased(recorded, replayed []byte) ([]byte, []byte) {
	if bytes.Equal(recorded, replayed) ||
		!bytes.Contains(recorded, erasedMarker) && !bytes.Contains(replayed, erasedMarker) {
		return recorded, replayed
	}
	var a, b any
	if json.Unmarshal(recorded, &a) != nil || json.Unmarshal(replayed, &b) != nil {
		return recorded, replayed
	}
	a, b = align(a, b)
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return recorded, replayed
	}
	return ra, rb
}

func align(a, b any) (any, any) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return a, b
		}
		for k, va := range x {
			if vb, ok := y[k]; ok {
				x[k], y[k] = align(va, vb)
			}
		}
		return x, y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return a, b
		}
		for i := range x {
			x[i], y[i] = align(x[i], y[i])
		}
		return x, y
	case string:
		if y, ok := b.(string); ok && (x == personaldata.Marker || y == personaldata.Marker) {
			return personaldata.Marker, personaldata.Marker
		}
	}
	return a, b
}
