package jsonenc_test

import (
	"testing"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonenc"
	"lifesituations/domain/jsonenc/jsonenctest"
	"lifesituations/domain/situation"
)

// TestSameAsEncodingJSON: jsonenc encodes the situations' events and
// decisions as encoding/json does, byte for byte.
func TestSameAsEncodingJSON(t *testing.T) {
	jsonenctest.SameAsEncodingJSON(t, jsonenc.Marshal, situation.Opened{}, situation.StepDecided{}, situation.DraftConfirmed{},
		situation.DraftDeclined{}, situation.DraftExpired{}, situation.DraftWithdrawn{}, situation.DraftReminded{},
		situation.ApplicationDecided{}, situation.GrantWithdrawn{}, situation.Rated{}, situation.WithdrawOrder{},
		situation.State{}, catalogue.StepDecision{}, catalogue.Person{})
}
