package lifeevent

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Sex as recorded by the registries.
type Sex string

const (
	SexFemale Sex = "F"
	SexMale   Sex = "M"
)

// Payload is the data of one life event: one of *PersonRegisteredData,
// *BirthRegisteredData, *ResidenceChangedData, *MarriageRegisteredData,
// *DeathRegisteredData, *IncomeReportedData.
type Payload interface {
	EventType() Type
	// Concerns lists every person the event is about, the main person first.
	Concerns() []uuid.UUID
	// subjects lists the persons that may be the event's subject.
	subjects() []uuid.UUID
}

// Event is a validated life event.
type Event struct {
	Type    Type
	Subject uuid.UUID
	Time    time.Time
	Payload Payload
}

// Stream is the person stream the event is stored in: its subject's.
func (e Event) Stream() string { return PersonStream(e.Subject) }

// Concerns lists every person the event is about, the subject first.
func (e Event) Concerns() []uuid.UUID {
	persons := []uuid.UUID{e.Subject}
	for _, p := range e.Payload.Concerns() {
		if p != e.Subject {
			persons = append(persons, p)
		}
	}
	return persons
}

// PersonRegisteredData is the data of person.registered, from the population register.
type PersonRegisteredData struct {
	PersonID    uuid.UUID `json:"person_id"`
	FamilyName  string    `json:"family_name"`
	GivenName   string    `json:"given_name"`
	BirthDate   Date      `json:"birth_date"`
	Sex         Sex       `json:"sex"`
	Citizenship string    `json:"citizenship"`
	Region      string    `json:"region"`
	TimeZone    string    `json:"time_zone"`
	Address     string    `json:"address"`
}

func (*PersonRegisteredData) EventType() Type         { return PersonRegistered }
func (d *PersonRegisteredData) Concerns() []uuid.UUID { return []uuid.UUID{d.PersonID} }
func (d *PersonRegisteredData) subjects() []uuid.UUID { return []uuid.UUID{d.PersonID} }

// BirthRegisteredData is the data of birth.registered, from the civil-status registry.
type BirthRegisteredData struct {
	RecordNumber    string     `json:"record_number"`
	ChildID         uuid.UUID  `json:"child_id"`
	ChildFamilyName string     `json:"child_family_name"`
	ChildGivenName  string     `json:"child_given_name"`
	BirthDate       Date       `json:"birth_date"`
	Sex             Sex        `json:"sex"`
	MotherID        uuid.UUID  `json:"mother_id"`
	FatherID        *uuid.UUID `json:"father_id,omitempty"`
	Region          string     `json:"region"`
	TimeZone        string     `json:"time_zone"`
	Address         string     `json:"address"`
}

func (*BirthRegisteredData) EventType() Type { return BirthRegistered }
func (d *BirthRegisteredData) Concerns() []uuid.UUID {
	persons := []uuid.UUID{d.ChildID, d.MotherID}
	if d.FatherID != nil {
		persons = append(persons, *d.FatherID)
	}
	return persons
}
func (d *BirthRegisteredData) subjects() []uuid.UUID { return []uuid.UUID{d.ChildID, d.MotherID} }

// ResidenceChangedData is the data of residence.changed, from the residence registry.
type ResidenceChangedData struct {
	PersonID      uuid.UUID `json:"person_id"`
	FromRegion    string    `json:"from_region"`
	ToRegion      string    `json:"to_region"`
	Address       string    `json:"address"`
	TimeZone      string    `json:"time_zone"`
	EffectiveDate Date      `json:"effective_date"`
}

func (*ResidenceChangedData) EventType() Type         { return ResidenceChanged }
func (d *ResidenceChangedData) Concerns() []uuid.UUID { return []uuid.UUID{d.PersonID} }
func (d *ResidenceChangedData) subjects() []uuid.UUID { return []uuid.UUID{d.PersonID} }

// MarriageRegisteredData is the data of marriage.registered, from the civil-status registry.
type MarriageRegisteredData struct {
	RecordNumber string       `json:"record_number"`
	SpouseIDs    [2]uuid.UUID `json:"spouse_ids"`
	Date         Date         `json:"date"`
	// NewFamilyNames holds only the spouses who change their family name.
	NewFamilyNames map[uuid.UUID]string `json:"new_family_names,omitempty"`
}

func (*MarriageRegisteredData) EventType() Type         { return MarriageRegistered }
func (d *MarriageRegisteredData) Concerns() []uuid.UUID { return d.SpouseIDs[:] }
func (d *MarriageRegisteredData) subjects() []uuid.UUID { return d.SpouseIDs[:] }

// DeathRegisteredData is the data of death.registered, from the civil-status registry.
type DeathRegisteredData struct {
	RecordNumber string    `json:"record_number"`
	PersonID     uuid.UUID `json:"person_id"`
	DateOfDeath  Date      `json:"date_of_death"`
	InformantID  uuid.UUID `json:"informant_id"`
	Region       string    `json:"region"`
}

func (*DeathRegisteredData) EventType() Type { return DeathRegistered }

// Concerns includes the informant: usually a relative, whom the death may
// entitle to services (a funeral allowance, survivor's benefits).
func (d *DeathRegisteredData) Concerns() []uuid.UUID {
	return []uuid.UUID{d.PersonID, d.InformantID}
}
func (d *DeathRegisteredData) subjects() []uuid.UUID { return []uuid.UUID{d.PersonID} }

// IncomeReportedData is the data of income.reported, from the tax registry.
type IncomeReportedData struct {
	PersonID        uuid.UUID `json:"person_id"`
	Year            int       `json:"year"`
	AnnualIncomeRUB float64   `json:"annual_income_rub"`
}

func (*IncomeReportedData) EventType() Type         { return IncomeReported }
func (d *IncomeReportedData) Concerns() []uuid.UUID { return []uuid.UUID{d.PersonID} }
func (d *IncomeReportedData) subjects() []uuid.UUID { return []uuid.UUID{d.PersonID} }

// NewPayload returns an empty payload of type t, or false for an unknown type.
func NewPayload(t Type) (Payload, bool) {
	switch t {
	case PersonRegistered:
		return &PersonRegisteredData{}, true
	case BirthRegistered:
		return &BirthRegisteredData{}, true
	case ResidenceChanged:
		return &ResidenceChangedData{}, true
	case MarriageRegistered:
		return &MarriageRegisteredData{}, true
	case DeathRegistered:
		return &DeathRegisteredData{}, true
	case IncomeReported:
		return &IncomeReportedData{}, true
	}
	return nil, false
}

// Decode reads the payload of a stored life event. It does not validate:
// stored events were validated when they came in.
func Decode(t Type, data []byte) (Payload, error) {
	p, ok := NewPayload(t)
	if !ok {
		return nil, fmt.Errorf("decode %s: not a life event type", t)
	}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, fmt.Errorf("decode %s: %w", t, err)
	}
	return p, nil
}
