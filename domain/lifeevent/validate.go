package lifeevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ClockSkew is how far ahead of the orchestrator's clock an event's time may
// be: registries' clocks are not perfectly in step with ours.
const ClockSkew = 5 * time.Minute

// Known is what validation needs to know about a person already known.
type Known struct {
	BirthDate Date
	Dead      bool
}

// PersonLookup tells which persons are known.
type PersonLookup interface {
	Person(id uuid.UUID) (Known, bool)
}

// Input is one incoming event as the registry sent it.
type Input struct {
	Type    string
	Subject string
	Time    time.Time
	Data    json.RawMessage
}

// Validator checks incoming life events.
type Validator struct {
	// TimeZoneValid reports whether an IANA zone exists. Loading zones reads
	// the time zone database, which is I/O, so the caller injects it; when
	// nil only the spelling of the name is checked.
	TimeZoneValid func(name string) bool
}

// Validate checks one event against the rules of its type, the persons known
// and the time now. It returns the parsed event, or every field error found.
func (v Validator) Validate(in Input, persons PersonLookup, now time.Time) (Event, []FieldError) {
	c := &checker{persons: persons, now: now, today: Today(now), tzValid: v.TimeZoneValid}
	t := Type(in.Type)
	if !t.Known() {
		c.fail("/type", ReasonUnknownType, "unknown event type %q", in.Type)
		return Event{}, c.errs
	}
	c.checkTime(in.Time)
	subject, subjectOK := c.subject(in.Subject)
	payload, dataOK := c.payload(t, in.Data)
	if subjectOK && dataOK {
		c.checkSubject(t, subject, payload)
	}
	if len(c.errs) > 0 {
		return Event{}, c.errs
	}
	return Event{Type: t, Subject: subject, Time: in.Time, Payload: payload}, nil
}

func (c *checker) checkTime(t time.Time) {
	switch {
	case t.IsZero():
		c.fail("/time", ReasonMissingField, "time is required")
	case t.After(c.now.Add(ClockSkew)):
		c.fail("/time", ReasonFutureDate, "time %s is in the future", t.Format(time.RFC3339))
	}
}

func (c *checker) subject(s string) (uuid.UUID, bool) {
	if s == "" {
		c.fail("/subject", ReasonMissingField, "subject is required: the main person's id")
		return uuid.Nil, false
	}
	id, err := ParseID(s)
	if err != nil {
		c.fail("/subject", ReasonMalformedField, "subject: %v", err)
		return uuid.Nil, false
	}
	return id, true
}

// payload parses data into the type's payload. ok is false when a field
// that may hold the subject could not be read, so the subject is not checked.
func (c *checker) payload(t Type, data json.RawMessage) (p Payload, ok bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		c.fail("/data", ReasonMissingField, "data is required")
		return nil, false
	}
	var fields map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		c.fail("/data", ReasonMalformedField, "data must be a JSON object")
		return nil, false
	}
	if path, dup := duplicateKey(trimmed); dup {
		c.fail(Pointer(append([]string{"data"}, path...)...), ReasonMalformedField,
			"field %q appears twice in the same object: send each field once", path[len(path)-1])
		return nil, false
	}
	c.data = fields
	switch t {
	case PersonRegistered:
		return c.personRegistered()
	case BirthRegistered:
		return c.birthRegistered()
	case ResidenceChanged:
		return c.residenceChanged()
	case MarriageRegistered:
		return c.marriageRegistered()
	case DeathRegistered:
		return c.deathRegistered()
	default:
		return c.incomeReported()
	}
}

func (c *checker) checkSubject(t Type, subject uuid.UUID, p Payload) {
	candidates := p.subjects()
	for _, id := range candidates {
		if id == subject {
			return
		}
	}
	want := map[Type]string{
		PersonRegistered:   "data.person_id",
		BirthRegistered:    "data.child_id or data.mother_id",
		ResidenceChanged:   "data.person_id",
		MarriageRegistered: "one of data.spouse_ids",
		DeathRegistered:    "data.person_id",
		IncomeReported:     "data.person_id",
	}[t]
	c.fail("/subject", ReasonSubjectMismatch, "subject %s is not the event's main person: for %s it must be %s", subject, t, want)
}

func (c *checker) fail(pointer string, reason Reason, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Pointer: pointer, Reason: reason, Detail: fmt.Sprintf(format, args...)})
}
