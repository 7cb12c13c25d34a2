package register

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Buckets of register.db.
var (
	bucketMeta      = []byte("meta")
	bucketPersons   = []byte("persons")
	bucketBirthdays = []byte("birthdays")
	bucketSteps     = []byte("steps")

	allBuckets = [][]byte{bucketMeta, bucketPersons, bucketBirthdays, bucketSteps}

	keyCheckpoint = []byte("checkpoint")
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

func encodePosition(p uint64) []byte { return binary.BigEndian.AppendUint64(nil, p) }

func decodePosition(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("checkpoint is %d bytes, want 8", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
