package lifeevent

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"
)

// Each rule reads its type's fields and reports whether the fields that may
// hold the subject were read, so that the subject can be checked.

func (c *checker) personRegistered() (Payload, bool) {
	d := &PersonRegisteredData{}
	idOK := c.id("person_id", &d.PersonID)
	c.text("family_name", &d.FamilyName)
	c.text("given_name", &d.GivenName)
	c.date("birth_date", &d.BirthDate)
	c.sex("sex", &d.Sex)
	c.country("citizenship", &d.Citizenship)
	c.region("region", &d.Region)
	c.timeZone("time_zone", &d.TimeZone)
	c.text("address", &d.Address)
	return d, idOK
}

func (c *checker) birthRegistered() (Payload, bool) {
	d := &BirthRegisteredData{}
	c.text("record_number", &d.RecordNumber)
	childOK := c.id("child_id", &d.ChildID)
	c.text("child_family_name", &d.ChildFamilyName)
	c.text("child_given_name", &d.ChildGivenName)
	bornOK := c.date("birth_date", &d.BirthDate)
	c.sex("sex", &d.Sex)
	motherOK := c.id("mother_id", &d.MotherID)
	fatherOK := c.optionalID("father_id", &d.FatherID)
	c.region("region", &d.Region)
	c.timeZone("time_zone", &d.TimeZone)
	c.text("address", &d.Address)

	if childOK && motherOK && d.MotherID == d.ChildID {
		c.fail(field("mother_id"), ReasonMalformedField, "mother_id must not be the child_id")
		motherOK = false
	}
	if fatherOK && d.FatherID != nil && (*d.FatherID == d.MotherID || *d.FatherID == d.ChildID) {
		c.fail(field("father_id"), ReasonMalformedField, "father_id must differ from mother_id and child_id")
		fatherOK = false
	}
	if motherOK {
		mother, known := c.known(field("mother_id"), d.MotherID)
		if known && bornOK && !d.BirthDate.After(mother.BirthDate) {
			c.fail(field("birth_date"), ReasonBornBeforeMother,
				"birth_date %s is not after the mother's birth date %s", d.BirthDate, mother.BirthDate)
		}
	}
	if fatherOK && d.FatherID != nil {
		c.known(field("father_id"), *d.FatherID)
	}
	return d, childOK && motherOK
}

func (c *checker) residenceChanged() (Payload, bool) {
	d := &ResidenceChangedData{}
	idOK := c.id("person_id", &d.PersonID)
	c.region("from_region", &d.FromRegion)
	c.region("to_region", &d.ToRegion)
	c.text("address", &d.Address)
	c.timeZone("time_zone", &d.TimeZone)
	c.date("effective_date", &d.EffectiveDate)
	if idOK {
		c.known(field("person_id"), d.PersonID)
	}
	return d, idOK
}

func (c *checker) marriageRegistered() (Payload, bool) {
	d := &MarriageRegisteredData{}
	c.text("record_number", &d.RecordNumber)
	spousesOK := c.spouses(&d.SpouseIDs)
	c.date("date", &d.Date)
	c.newFamilyNames(d, spousesOK)
	if spousesOK {
		for i, id := range d.SpouseIDs {
			c.known(Pointer("data", "spouse_ids", strconv.Itoa(i)), id)
		}
	}
	return d, spousesOK
}

// spouses reads exactly two distinct person ids.
func (c *checker) spouses(dst *[2]uuid.UUID) bool {
	raw, ok := c.value("spouse_ids")
	if !ok {
		return false
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil || len(items) != 2 {
		c.fail(field("spouse_ids"), ReasonMalformedField, "spouse_ids must be an array of exactly 2 person ids")
		return false
	}
	ok = true
	for i, item := range items {
		pointer := Pointer("data", "spouse_ids", strconv.Itoa(i))
		if isNull(item) {
			c.fail(pointer, ReasonMissingField, "spouse_ids[%d] is required", i)
			ok = false
			continue
		}
		id, idOK := c.idAt(pointer, "spouse id", item)
		dst[i], ok = id, ok && idOK
	}
	if ok && dst[0] == dst[1] {
		c.fail(field("spouse_ids"), ReasonMalformedField, "spouse_ids must name two different persons")
		return false
	}
	return ok
}

// newFamilyNames reads the optional map of spouse id -> new family name.
func (c *checker) newFamilyNames(d *MarriageRegisteredData, spousesOK bool) {
	raw, present := c.data["new_family_names"]
	if !present || isNull(raw) {
		return
	}
	var names map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &names) != nil {
		c.fail(field("new_family_names"), ReasonMalformedField, "new_family_names must be an object: person id -> new family name")
		return
	}
	for key, value := range names {
		pointer := Pointer("data", "new_family_names", key)
		id, err := ParseID(key)
		if err != nil {
			c.fail(pointer, ReasonMalformedField, "new_family_names key: %v", err)
			continue
		}
		if spousesOK && id != d.SpouseIDs[0] && id != d.SpouseIDs[1] {
			c.fail(pointer, ReasonMalformedField, "new_family_names key %s is not one of spouse_ids", id)
			continue
		}
		if isNull(value) {
			c.fail(pointer, ReasonMissingField, "the new family name is required")
			continue
		}
		name, ok := c.str(pointer, "the new family name", value)
		if !ok {
			continue
		}
		if d.NewFamilyNames == nil {
			d.NewFamilyNames = make(map[uuid.UUID]string, len(names))
		}
		d.NewFamilyNames[id] = name
	}
}

func (c *checker) deathRegistered() (Payload, bool) {
	d := &DeathRegisteredData{}
	c.text("record_number", &d.RecordNumber)
	idOK := c.id("person_id", &d.PersonID)
	c.date("date_of_death", &d.DateOfDeath)
	informantOK := c.id("informant_id", &d.InformantID)
	c.region("region", &d.Region)
	if idOK && informantOK && d.InformantID == d.PersonID {
		c.fail(field("informant_id"), ReasonMalformedField, "informant_id must not be the deceased person")
		informantOK = false
	}
	if idOK {
		c.known(field("person_id"), d.PersonID)
	}
	if informantOK {
		c.known(field("informant_id"), d.InformantID)
	}
	return d, idOK
}

func (c *checker) incomeReported() (Payload, bool) {
	d := &IncomeReportedData{}
	idOK := c.id("person_id", &d.PersonID)
	if s, ok := c.number("year"); ok {
		year, err := strconv.Atoi(s)
		switch {
		case err != nil || year < 1:
			c.fail(field("year"), ReasonMalformedField, "year must be a positive integer")
		case year > c.today.Year:
			c.fail(field("year"), ReasonFutureDate, "year %d is in the future", year)
		default:
			d.Year = year
		}
	}
	if s, ok := c.number("annual_income_rub"); ok {
		income, err := strconv.ParseFloat(s, 64)
		if err != nil || income < 0 {
			c.fail(field("annual_income_rub"), ReasonMalformedField, "annual_income_rub must be a non-negative number")
		} else {
			d.AnnualIncomeRUB = income
		}
	}
	if idOK {
		c.known(field("person_id"), d.PersonID)
	}
	return d, idOK
}
