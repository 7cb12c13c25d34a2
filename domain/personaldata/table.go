// Package personaldata says which fields of event payloads are personal
// data, whose they are, and how such a field is sealed (encrypted with the
// key of the person it belongs to) so that deleting that person's key erases
// it from the log without rewriting the log (crypto-shredding). It does no
// I/O: keys come from a KeyStore port, implemented by adapters.
//
// Kept in clear, because decisions and statistics read them: every id,
// dates, sex, citizenship, region, time zone, incomes, record numbers,
// outcomes, reasons and catalogue data. Personal and sealed: names,
// addresses, and what a citizen writes (corrections of a draft, a decline's
// reason, a rating's comment).
package personaldata

import "strings"

// Marker is what an erased personal value reads as. It is a string, like
// every personal value the table names, so readers decoding into typed
// fields and the catalogue's expressions keep working.
const Marker = "[erased]"

// Field is one personal field of a payload.
type Field struct {
	// Path is the value's place in the payload: object keys separated by
	// dots; "*" matches every key of an object, "~" every key PersonalKey
	// accepts (draft fields named by the catalogue, not by the code).
	Path string
	// Owner is the path, from the payload's root, of the id of the person
	// whose key seals the value; "*" is the key the path's "*" matched.
	Owner string
	// Embedded, when set, says that the value at Path is itself the
	// payload of the event type found at this path from the root (the
	// trigger copied into a situation's opening): that type's fields apply
	// inside it, with their own owners.
	Embedded string
}

// Table is the personal fields of each event type. A copy of someone's
// value inside another person's application (a child's name pre-filled in
// the mother's draft) follows the applicant's key: it is part of the
// applicant's file.
var Table = map[string][]Field{
	// Registry events (CONTRACT.md section 1).
	"person.registered": {
		{Path: "family_name", Owner: "person_id"},
		{Path: "given_name", Owner: "person_id"},
		{Path: "address", Owner: "person_id"},
	},
	"birth.registered": {
		{Path: "child_family_name", Owner: "child_id"},
		{Path: "child_given_name", Owner: "child_id"},
		// The child's address of residence: it becomes the child's in the
		// register, so it follows the child (the mother's own address
		// comes from her registration and moves).
		{Path: "address", Owner: "child_id"},
	},
	"residence.changed": {
		{Path: "address", Owner: "person_id"},
	},
	"marriage.registered": {
		{Path: "new_family_names.*", Owner: "*"},
	},
	// The orchestrator's situation events (domain/situation).
	"situation.opened": {
		{Path: "facts.*.family_name", Owner: "*"},
		{Path: "facts.*.given_name", Owner: "*"},
		{Path: "facts.*.address", Owner: "*"},
		{Path: "facts.*.previous_family_name", Owner: "*"},
		{Path: "trigger.data", Embedded: "trigger.type"},
	},
	"situation.step_decided": {
		{Path: "decision.prefill.~", Owner: "decision.applicant"},
	},
	"draft.confirmed": {
		{Path: "fields.~", Owner: "by"},
	},
	"draft.declined": {
		{Path: "reason", Owner: "by"},
	},
	"situation.rated": {
		{Path: "comment", Owner: "by"},
	},
}

// deadLetterPrefix starts the type of a dead letter, which carries the
// payload of the event that failed (adapters/sagarouter).
const deadLetterPrefix = "deadletter."

// Fields returns the personal fields of an event type, nil when it has
// none.
func Fields(eventType string) []Field {
	if f, ok := Table[eventType]; ok {
		return f
	}
	if rest, ok := strings.CutPrefix(eventType, deadLetterPrefix); ok {
		return Table[rest]
	}
	return nil
}

// personalNames and personalSuffixes name the personal keys of the objects
// the catalogue fills (a draft's pre-filled fields, a citizen's
// corrections): names, addresses, contact and bank details, document
// numbers.
var (
	personalNames    = []string{"family_name", "given_name", "address", "phone", "email", "bank_account", "licence_number"}
	personalSuffixes = []string{"_family_name", "_given_name", "_address"}
)

// PersonalKey reports whether a key of a catalogue-filled object holds
// personal data.
func PersonalKey(k string) bool { return personalKey(k) }

// personalKey is PersonalKey for a key still in a payload's bytes, without
// a copy.
func personalKey[K ~string | ~[]byte](k K) bool {
	for _, n := range personalNames {
		if string(k) == n {
			return true
		}
	}
	for _, s := range personalSuffixes {
		if len(k) >= len(s) && string(k[len(k)-len(s):]) == s {
			return true
		}
	}
	return false
}
