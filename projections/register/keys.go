package register

import (
	"bytes"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/projections/derived"
)

// Buckets of register.db.
var (
	bucketMeta = []byte("meta")
	// persons: each person's row under their id and, right after it,
	// their entries in the indexes a decision reads by person, under id
	// 0x00 kind (an id has no 0x00): the drafts they still wait on
	// (draftKey) and the standing grants they hold (heldKey). A person's
	// row and entries share a page, which a decision about them dirties
	// anyway; an index of its own dirtied a page of its own per person.
	bucketPersons   = []byte("persons")
	bucketBirthdays = []byte("birthdays")
	bucketSteps     = []byte("steps")
	// standing: grant id -> the grant of a service that allows opting out
	// (a place in a queue), while it is not withdrawn.
	bucketStanding = []byte("standing")

	// fileLayout's version is that of the file's rows and indexes. A file
	// of another (or of none: before the drafts and standing indexes) is
	// emptied and folded again. Version 3 packs the persons' rows
	// (packed.go) where 2 had JSON; 4 keeps the drafts and standing grants
	// indexes beside each person's row, where 3 had buckets of their own.
	fileLayout = derived.Layout{
		Meta: bucketMeta, Key: []byte("schema"), Version: "4",
		Buckets: [][]byte{bucketMeta, bucketPersons, bucketBirthdays, bucketSteps, bucketStanding},
		Former:  [][]byte{[]byte("drafts"), []byte("held")},
	}
)

// Kinds of a person's index entries in the persons bucket.
const (
	kindDraft byte = 'd'
	kindHeld  byte = 'h'
)

// entryPrefix starts person's index entries of a kind.
func entryPrefix(person string, kind byte) []byte {
	return append([]byte(person), 0, kind)
}

// isEntry tells an index entry's key from a person's row's.
func isEntry(key []byte) bool { return bytes.IndexByte(key, 0) >= 0 }

// birthdayKey orders the birthday index by month-day, then year: a prefix of
// four bytes lists everyone whose birthday it is, a prefix of eight those
// born on that very date, which is all the calendar needs for one age.
func birthdayKey(year int, month time.Month, day int, id string) []byte {
	return append(birthdayPrefix(year, month, day), id...)
}

func birthdayPrefix(year int, month time.Month, day int) []byte {
	return fmt.Appendf(make([]byte, 0, 8+36), "%02d%02d%04d", int(month), day, year)
}

func monthDayPrefix(month time.Month, day int) []byte {
	return fmt.Appendf(make([]byte, 0, 4), "%02d%02d", int(month), day)
}

// draftKey is applicant 0x00 'd' draft id -> situation id, for every
// draft still waiting (open, or submitted and not decided), so that the
// drafts of a person who died are found without a scan.
func draftKey(applicant string, draft uuid.UUID) []byte {
	return append(entryPrefix(applicant, kindDraft), draft[:]...)
}

// heldPrefix is person 0x00 'h' service 0x00: the person's standing
// grants of the service.
func heldPrefix(person, service string) []byte {
	k := append(entryPrefix(person, kindHeld), service...)
	return append(k, 0)
}

// heldKey is heldPrefix then the grant id -> situation id, for a standing
// grant's applicant and its beneficiary.
func heldKey(person, service string, grant uuid.UUID) []byte {
	return append(heldPrefix(person, service), grant[:]...)
}
