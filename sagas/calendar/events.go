package calendar

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Event types, stream and source of the calendar.
const (
	// TypeAgeReached goes to the person's stream at local midnight of the
	// day they reach a milestone age.
	TypeAgeReached = "age.reached"
	// TypeSwept records in Stream the last day swept in every time zone.
	TypeSwept = "calendar.swept"
	// Stream holds the calendar's progress.
	Stream = "calendar"
	// Source names the calendar in the metadata of what it appends.
	Source = "urn:lifesituations:calendar"
)

// namespace roots the calendar's deterministic event ids (UUIDv5). It is
// fixed forever: changing it would fire every milestone a second time.
var namespace = uuid.MustParse("0c7f5f3e-2b57-5c0e-8a7d-3f4e9b1d6a21")

// AgeReachedID is the one event for a person reaching an age, whoever
// appends it (the day's sweep or a late registration) and however often.
func AgeReachedID(personID string, age int) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("age/"+personID+"/"+strconv.Itoa(age)))
}

// SweptID is the one checkpoint event of a day.
func SweptID(date lifeevent.Date) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("swept/"+date.String()))
}

// AgeReached is the data of TypeAgeReached. Date is the day the age is
// reached: 28 February in a common year for someone born on 29 February.
type AgeReached struct {
	PersonID string `json:"person_id"`
	Age      int    `json:"age"`
	Date     string `json:"date"`
}

// Swept is the data of TypeSwept: every birthday of Date has fired in every
// time zone.
type Swept struct {
	Date string `json:"date"`
	// RegistrationsAfter: every registration up to this log position has
	// been checked for a milestone inside its window.
	RegistrationsAfter eventstore.Position `json:"registrations_after"`
	// Initial marks the checkpoint of the first start: sweeping began the
	// day after it, not at the dawn of time.
	Initial bool `json:"initial,omitempty"`
}

// ageReached builds the event of a person reaching age on date, whose local
// midnight is at. cause is the registration that made it due late, if any.
func ageReached(personID string, age int, date lifeevent.Date, at time.Time, cause string) (eventstore.StreamAppend, error) {
	id := AgeReachedID(personID, age)
	data, err := json.Marshal(AgeReached{PersonID: personID, Age: age, Date: date.String()})
	if err != nil {
		return eventstore.StreamAppend{}, fmt.Errorf("encode %s: %w", TypeAgeReached, err)
	}
	return eventstore.StreamAppend{
		Stream:   lifeevent.StreamPrefix + personID,
		Expected: eventstore.Any,
		Events: []eventstore.Event{{
			ID: id, Type: TypeAgeReached, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{
				OccurredAt: at, Source: Source, CorrelationID: id.String(), CausationID: cause, Actor: "calendar",
			},
		}},
	}, nil
}

// swept builds the checkpoint of a day; at is when its last time zone
// reached it.
func swept(s Swept, at time.Time) (eventstore.StreamAppend, error) {
	date, err := lifeevent.ParseDate(s.Date)
	if err != nil {
		return eventstore.StreamAppend{}, fmt.Errorf("checkpoint: %w", err)
	}
	data, err := json.Marshal(s)
	if err != nil {
		return eventstore.StreamAppend{}, fmt.Errorf("encode %s: %w", TypeSwept, err)
	}
	id := SweptID(date)
	return eventstore.StreamAppend{
		Stream:   Stream,
		Expected: eventstore.Any,
		Events: []eventstore.Event{{
			ID: id, Type: TypeSwept, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: at, Source: Source, CorrelationID: id.String(), Actor: "calendar"},
		}},
	}, nil
}
