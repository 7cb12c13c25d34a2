package cabinet

import (
	"testing"

	"lifesituations/domain/jsonenc"
	"lifesituations/domain/jsonenc/jsonenctest"
)

// TestRowsEncodeAsEncodingJSON: the rows and notifications the cabinet
// stores encode with jsonenc as encoding/json encodes them.
func TestRowsEncodeAsEncodingJSON(t *testing.T) {
	jsonenctest.SameAsEncodingJSON(t, jsonenc.Marshal, situationRow{}, Draft{}, Grant{}, Notification{})
}
