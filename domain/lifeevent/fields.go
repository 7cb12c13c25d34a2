package lifeevent

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// checker validates one event, collecting every error rather than stopping
// at the first, so a registry can fix all of them in one round.
type checker struct {
	persons PersonLookup
	now     time.Time
	today   Date
	tzValid func(string) bool
	data    map[string]json.RawMessage
	errs    []FieldError
}

func field(name string) string { return Pointer("data", name) }

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// value is a required data field; absent and null are both missing.
func (c *checker) value(name string) (json.RawMessage, bool) {
	raw, ok := c.data[name]
	if !ok || isNull(raw) {
		c.fail(field(name), ReasonMissingField, "%s is required", name)
		return nil, false
	}
	return raw, true
}

// str reads a non-empty JSON string at pointer.
func (c *checker) str(pointer, name string, raw json.RawMessage) (string, bool) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		c.fail(pointer, ReasonMalformedField, "%s must be a string", name)
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		c.fail(pointer, ReasonMissingField, "%s must not be empty", name)
		return "", false
	}
	return s, true
}

func (c *checker) text(name string, dst *string) bool {
	raw, ok := c.value(name)
	if !ok {
		return false
	}
	*dst, ok = c.str(field(name), name, raw)
	return ok
}

// ParseID parses a person id. It accepts only the canonical 36-character
// form, so that a person's stream name is the same however the id was
// spelled, and refuses the nil UUID.
func ParseID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, fmt.Errorf("%q is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%q is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	if id == uuid.Nil {
		return uuid.Nil, fmt.Errorf("the nil UUID names no person")
	}
	return id, nil
}

func (c *checker) idAt(pointer, name string, raw json.RawMessage) (uuid.UUID, bool) {
	s, ok := c.str(pointer, name, raw)
	if !ok {
		return uuid.Nil, false
	}
	id, err := ParseID(s)
	if err != nil {
		c.fail(pointer, ReasonMalformedField, "%s: %v", name, err)
		return uuid.Nil, false
	}
	return id, true
}

func (c *checker) id(name string, dst *uuid.UUID) bool {
	raw, ok := c.value(name)
	if !ok {
		return false
	}
	*dst, ok = c.idAt(field(name), name, raw)
	return ok
}

// optionalID reads a person id that may be absent or null (dst stays nil).
func (c *checker) optionalID(name string, dst **uuid.UUID) bool {
	raw, present := c.data[name]
	if !present || isNull(raw) {
		return true
	}
	id, ok := c.idAt(field(name), name, raw)
	if ok {
		*dst = &id
	}
	return ok
}

// date reads a YYYY-MM-DD date that is not in the future.
func (c *checker) date(name string, dst *Date) bool {
	raw, ok := c.value(name)
	if !ok {
		return false
	}
	s, ok := c.str(field(name), name, raw)
	if !ok {
		return false
	}
	d, err := ParseDate(s)
	if err != nil {
		c.fail(field(name), ReasonMalformedField, "%s: %v", name, err)
		return false
	}
	if d.After(c.today) {
		c.fail(field(name), ReasonFutureDate, "%s %s is in the future", name, d)
		return false
	}
	*dst = d
	return true
}

// code reads a string field that valid accepts; want describes the format.
func (c *checker) code(name, want string, valid func(string) bool, dst *string) bool {
	var s string
	if !c.text(name, &s) {
		return false
	}
	if !valid(s) {
		c.fail(field(name), ReasonMalformedField, "%s %q is not %s", name, s, want)
		return false
	}
	*dst = s
	return true
}

func (c *checker) sex(name string, dst *Sex) bool {
	var s string
	ok := c.code(name, `"F" or "M"`, func(s string) bool { return s == string(SexFemale) || s == string(SexMale) }, &s)
	*dst = Sex(s)
	return ok
}

func (c *checker) country(name string, dst *string) bool {
	return c.code(name, "an ISO 3166-1 alpha-2 country code in upper case (RU)", ValidCountry, dst)
}

func (c *checker) region(name string, dst *string) bool {
	return c.code(name, "an ISO 3166-2 region code (RU-MOW)", ValidRegion, dst)
}

func (c *checker) timeZone(name string, dst *string) bool {
	valid := func(s string) bool {
		return ValidTimeZoneName(s) && (c.tzValid == nil || c.tzValid(s))
	}
	return c.code(name, "an IANA time zone (Europe/Moscow)", valid, dst)
}

// number reads a JSON number (not a numeric string).
func (c *checker) number(name string) (string, bool) {
	raw, ok := c.value(name)
	if !ok {
		return "", false
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		c.fail(field(name), ReasonMalformedField, "%s must be a number", name)
		return "", false
	}
	return string(raw), true
}

// known looks a person up, recording an error when they are unknown.
func (c *checker) known(pointer string, id uuid.UUID) (Known, bool) {
	if c.persons != nil {
		if k, ok := c.persons.Person(id); ok {
			return k, true
		}
	}
	c.fail(pointer, ReasonUnknownPerson, "person %s is not known: they must be registered first", id)
	return Known{}, false
}
