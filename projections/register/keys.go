package register

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Buckets of register.db.
var (
	bucketMeta      = []byte("meta")
	bucketPersons   = []byte("persons")
	bucketBirthdays = []byte("birthdays")
	bucketSteps     = []byte("steps")
	// drafts: applicant 0x00 draft id -> situation id, for every draft
	// still waiting (open, or submitted and not decided), so that the
	// drafts of a person who died are found without a scan.
	bucketDrafts = []byte("drafts")
	// standing: grant id -> the grant of a service that allows opting out
	// (a place in a queue), while it is not withdrawn; held: person 0x00
	// service 0x00 grant id -> situation id, for its applicant and its
	// beneficiary.
	bucketStanding = []byte("standing")
	bucketHeld     = []byte("held")

	allBuckets = [][]byte{bucketMeta, bucketPersons, bucketBirthdays, bucketSteps, bucketDrafts, bucketStanding, bucketHeld}

	keySchema = []byte("schema")
)

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

// draftKey is applicant 0x00 draft id.
func draftKey(applicant string, draft uuid.UUID) []byte {
	return append(append([]byte(applicant), 0), draft[:]...)
}

// heldPrefix is person 0x00 service 0x00: the person's standing grants of
// the service.
func heldPrefix(person, service string) []byte {
	k := append([]byte(person), 0)
	k = append(k, service...)
	return append(k, 0)
}

func heldKey(person, service string, grant uuid.UUID) []byte {
	return append(heldPrefix(person, service), grant[:]...)
}
