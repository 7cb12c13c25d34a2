// Package ingesttest builds valid registry events for the tests of the
// transports that carry them (HTTP ingest, the broker), so that both send
// the same events.
package ingesttest

import (
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"lifesituations/domain/lifeevent"
)

// T0 is "now" in the tests.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Event builds a registry event one hour before T0, with a fresh id.
func Event(source string, t lifeevent.Type, subject uuid.UUID, data map[string]any) event.Event {
	e := cloudevents.NewEvent()
	e.SetID(uuid.NewString())
	e.SetSource(source)
	e.SetType(string(t))
	e.SetSubject(subject.String())
	e.SetTime(T0.Add(-time.Hour))
	if err := e.SetData(cloudevents.ApplicationJSON, data); err != nil {
		panic(err)
	}
	return e
}

// PersonRegistered registers a woman of Moscow born on birthDate.
func PersonRegistered(person uuid.UUID, birthDate string) event.Event {
	return Event(lifeevent.SourcePopulation, lifeevent.PersonRegistered, person, map[string]any{
		"person_id": person.String(), "family_name": "Ivanova", "given_name": "Anna",
		"birth_date": birthDate, "sex": "F", "citizenship": "RU", "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

// BirthRegistered reports a son of mother born on birthDate.
func BirthRegistered(child, mother uuid.UUID, birthDate string) event.Event {
	return Event(lifeevent.SourceCivilStatus, lifeevent.BirthRegistered, child, map[string]any{
		"record_number": "1102", "child_id": child.String(), "child_family_name": "Ivanov",
		"child_given_name": "Ivan", "birth_date": birthDate, "sex": "M", "mother_id": mother.String(),
		"region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

// ResidenceChanged moves person from Moscow to Kamchatka.
func ResidenceChanged(person uuid.UUID) event.Event {
	return Event(lifeevent.SourceResidence, lifeevent.ResidenceChanged, person, map[string]any{
		"person_id": person.String(), "from_region": "RU-MOW", "to_region": "RU-KAM",
		"address": "Petropavlovsk-Kamchatsky, Lenina 2", "time_zone": "Asia/Kamchatka", "effective_date": "2026-02-20",
	})
}

// MarriageRegistered marries a and b; b takes a new family name.
func MarriageRegistered(a, b uuid.UUID) event.Event {
	return Event(lifeevent.SourceCivilStatus, lifeevent.MarriageRegistered, a, map[string]any{
		"record_number": "2201", "spouse_ids": []string{a.String(), b.String()}, "date": "2026-02-14",
		"new_family_names": map[string]string{b.String(): "Petrova"},
	})
}

// DeathRegistered reports person's death by informant.
func DeathRegistered(person, informant uuid.UUID) event.Event {
	return Event(lifeevent.SourceCivilStatus, lifeevent.DeathRegistered, person, map[string]any{
		"record_number": "3301", "person_id": person.String(), "date_of_death": "2026-02-27",
		"informant_id": informant.String(), "region": "RU-MOW",
	})
}

// IncomeReported reports person's income of year.
func IncomeReported(person uuid.UUID, year int) event.Event {
	return Event(lifeevent.SourceTax, lifeevent.IncomeReported, person, map[string]any{
		"person_id": person.String(), "year": year, "annual_income_rub": 1250000.50,
	})
}
