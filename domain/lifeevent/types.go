package lifeevent

// Type is a life event's CloudEvents type.
type Type string

const (
	PersonRegistered   Type = "person.registered"
	BirthRegistered    Type = "birth.registered"
	ResidenceChanged   Type = "residence.changed"
	MarriageRegistered Type = "marriage.registered"
	DeathRegistered    Type = "death.registered"
	IncomeReported     Type = "income.reported"
)

// Registry sources, the CloudEvents source of each registry.
const (
	SourcePopulation  = "urn:registry:population"
	SourceCivilStatus = "urn:registry:civil-status"
	SourceResidence   = "urn:registry:residence"
	SourceTax         = "urn:registry:tax"
)

// SchemaVersion is the version of the payloads defined here, stored with
// every life event.
const SchemaVersion = 1

var owners = map[Type]string{
	PersonRegistered:   SourcePopulation,
	BirthRegistered:    SourceCivilStatus,
	ResidenceChanged:   SourceResidence,
	MarriageRegistered: SourceCivilStatus,
	DeathRegistered:    SourceCivilStatus,
	IncomeReported:     SourceTax,
}

// Types lists every life event type.
func Types() []Type {
	return []Type{PersonRegistered, BirthRegistered, ResidenceChanged, MarriageRegistered, DeathRegistered, IncomeReported}
}

// Known reports whether t is a life event type.
func (t Type) Known() bool {
	_, ok := owners[t]
	return ok
}

// Owner is the source allowed to send events of type t ("" for an unknown type).
func (t Type) Owner() string { return owners[t] }

// OwnedBy reports whether source may send events of type t.
func (t Type) OwnedBy(source string) bool {
	owner, ok := owners[t]
	return ok && owner == source
}
