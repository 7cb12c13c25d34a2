package register

import (
	"strings"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/lifeevent"
)

// FactPersons appends to dst the persons whose rows a registry fact can
// change: the ids its data names (a person, a child and their parents,
// the spouses), read without opening its personal fields, which the fold
// of lifefacts.go edits and no other. ok is false for any other event
// (a situation's, an erasure, the calendar's) and for a fact whose ids do
// not read plainly: the fold must take those whatever rows are wanted.
// The data is not validated first (a pass as long as the reading, and the
// readers of a replay ask it of every fact): what malformed data names is
// unspecified, and the fold, which validates, refuses it.
//
// A replay that reads only some persons' families (audit verify) folds a
// fact only when it names one of them or their kin (see LinkingFacts);
// TestFactPersonsNameEveryRowTheFoldChanges holds the list to the fold.
func FactPersons(e *eventstore.RecordedEvent, dst []uuid.UUID) ([]uuid.UUID, bool) {
	if !strings.HasPrefix(e.Stream, lifeevent.StreamPrefix) || !lifeevent.Type(e.Type).Known() {
		return dst, false
	}
	ok := jsonscan.PlainMembers(e.Data, func(key, value []byte) bool {
		switch string(key) {
		case "person_id", "child_id", "mother_id", "father_id":
			if string(value) == "null" {
				return true
			}
			var id uuid.UUID
			if !jsonscan.UUID(&id, value) {
				return false
			}
			dst = append(dst, id)
		case "spouse_ids":
			return jsonscan.Elements(value, func(v []byte) bool {
				var id uuid.UUID
				if !jsonscan.UUID(&id, v) {
					return false
				}
				dst = append(dst, id)
				return true
			})
		}
		return true
	})
	return dst, ok
}

// LinkingFacts are the fact types that name more than one person: they
// make the links a family is read along (parents, children, spouses).
// Every other fact names one person (TestOnlyLinkingFactsNameSeveral).
var LinkingFacts = []string{string(lifeevent.BirthRegistered), string(lifeevent.MarriageRegistered)}
