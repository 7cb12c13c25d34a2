package register

import (
	"strings"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

// The register spends most of its fold decoding events with encoding/json,
// which checks an event (a function call per byte), then scans it again
// member by member through reflection. The events most of a log is made of
// (person.registered, birth.registered, situation.step_decided) are decoded
// here in one scan after a validity check of its own (jsonscan) instead,
// as the sagas and registries write them. It gives up, leaving the event
// to encoding/json, on anything whose decoding by encoding/json it does
// not mimic exactly: a member whose name is escaped, not ASCII or not
// lower case, a field's value that is not a plain string (no escapes,
// valid UTF-8) that parses, or for the few other types the literal it
// expects. TestFastDecodingIsEncodingJSONs holds it to encoding/json's
// result.

// Decoded is an event's data as the fold reads it, decoded ahead of the
// fold (Decode): a replay's readers decode on every core, where the fold
// runs on one. The zero Decoded leaves the decoding to the fold.
type Decoded struct {
	// tried: Decode ran, whatever it found, so the fold need not run it
	// again on an event it gave up on or does not decode.
	tried      bool
	registered *lifeevent.PersonRegisteredData
	born       *lifeevent.BirthRegisteredData
	step       *stepDecided
}

// Decode decodes e's data in one pass when it is of the kinds decoded
// here; for any other event, or where the fast decoding gives up, a
// Decoded holding no data, which tells the fold to decode it with
// encoding/json without running Decode again.
func Decode(e *eventstore.RecordedEvent) Decoded {
	d := Decoded{tried: true}
	var ok bool
	switch {
	case e.Type == string(lifeevent.PersonRegistered) && strings.HasPrefix(e.Stream, lifeevent.StreamPrefix):
		if d.registered, ok = decodeRegisteredFast(e.Data); !ok {
			d.registered = nil
		}
	case e.Type == string(lifeevent.BirthRegistered) && strings.HasPrefix(e.Stream, lifeevent.StreamPrefix):
		if d.born, ok = decodeBornFast(e.Data); !ok {
			d.born = nil
		}
	case e.Type == situation.TypeStepDecided && strings.HasPrefix(e.Stream, situation.StreamPrefix):
		if d.step, ok = decodeStepDecidedFast(e.Data); !ok {
			d.step = nil
		}
	}
	return d
}

// StepRead is what the register's fold reads of a situation.step_decided
// event, for a reader that scans the event anyway (audit verify's readers,
// which decode it for their comparison) and hands it over, rather than
// have Decode scan it again.
type StepRead struct {
	SituationID, StepID, GrantID    uuid.UUID
	Service, Applicant, Beneficiary string
	Outcome                         catalogue.Outcome
	OptOut                          bool
}

// DecodedStep is the Decoded of a step decision whose fields the caller
// read as Decode reads them: only where Decode's fast decoding would not
// give up, and with the same result (sagas/audit holds its reader to
// Decode's).
func DecodedStep(r StepRead) Decoded {
	e := &stepDecided{SituationID: r.SituationID, StepID: r.StepID, GrantID: r.GrantID}
	d := &e.Decision
	d.Service, d.Outcome, d.OptOut, d.Applicant, d.Beneficiary = r.Service, r.Outcome, r.OptOut, r.Applicant, r.Beneficiary
	return Decoded{tried: true, step: e}
}

// applyDecoded folds an event decoded here; false to leave it to the rest
// of apply.
func (b *batch) applyDecoded(d Decoded) (bool, error) {
	switch {
	case d.registered != nil:
		return true, b.registered(d.registered)
	case d.born != nil:
		return true, b.born(d.born)
	case d.step != nil:
		return true, b.stepDecided(d.step)
	}
	return false, nil
}

// stepDecided folds a decoded step decision.
func (b *batch) stepDecided(e *stepDecided) error {
	s := step{Service: e.Decision.Service, Applicant: e.Decision.Applicant, Beneficiary: e.Decision.Beneficiary, Situation: e.SituationID}
	switch e.Decision.Outcome {
	case catalogue.OutcomeGranted:
		if e.Decision.OptOut && e.GrantID != uuid.Nil {
			if err := b.standing(e.GrantID, s); err != nil {
				return err
			}
		}
		return b.granted(s)
	case catalogue.OutcomeDrafted:
		return b.keepStep(e.StepID, s)
	}
	return nil
}

func decodeRegisteredFast(data []byte) (*lifeevent.PersonRegisteredData, bool) {
	d := &lifeevent.PersonRegisteredData{}
	ok := decodeFast(data, func(key, value []byte) bool {
		var dst *string
		switch string(key) {
		case "family_name":
			dst = &d.FamilyName
		case "given_name":
			dst = &d.GivenName
		case "citizenship":
			dst = &d.Citizenship
		case "region":
			dst = &d.Region
		case "time_zone":
			dst = &d.TimeZone
		case "address":
			dst = &d.Address
		case "person_id":
			return jsonscan.UUID(&d.PersonID, value)
		case "birth_date":
			return parseDate(&d.BirthDate, value)
		case "sex":
			s, ok := jsonscan.PlainString(value)
			d.Sex = lifeevent.Sex(s)
			return ok
		}
		return setString(dst, value)
	})
	return d, ok
}

func decodeBornFast(data []byte) (*lifeevent.BirthRegisteredData, bool) {
	d := &lifeevent.BirthRegisteredData{}
	ok := decodeFast(data, func(key, value []byte) bool {
		var dst *string
		switch string(key) {
		case "record_number":
			dst = &d.RecordNumber
		case "child_family_name":
			dst = &d.ChildFamilyName
		case "child_given_name":
			dst = &d.ChildGivenName
		case "region":
			dst = &d.Region
		case "time_zone":
			dst = &d.TimeZone
		case "address":
			dst = &d.Address
		case "child_id":
			return jsonscan.UUID(&d.ChildID, value)
		case "mother_id":
			return jsonscan.UUID(&d.MotherID, value)
		case "father_id":
			if string(value) == "null" {
				d.FatherID = nil // as encoding/json sets a pointer
				return true
			}
			var id uuid.UUID
			ok := jsonscan.UUID(&id, value)
			d.FatherID = &id
			return ok
		case "birth_date":
			return parseDate(&d.BirthDate, value)
		case "sex":
			s, ok := jsonscan.PlainString(value)
			d.Sex = lifeevent.Sex(s)
			return ok
		}
		return setString(dst, value)
	})
	return d, ok
}

func decodeStepDecidedFast(data []byte) (*stepDecided, bool) {
	e := &stepDecided{}
	dec := &e.Decision
	decision := func(key, value []byte) bool {
		var dst *string
		switch string(key) {
		case "service":
			dst = &dec.Service
		case "applicant":
			dst = &dec.Applicant
		case "beneficiary":
			dst = &dec.Beneficiary
		case "outcome":
			s, ok := jsonscan.PlainString(value)
			dec.Outcome = catalogue.Outcome(s)
			return ok
		case "opt_out":
			return jsonscan.Bool(&dec.OptOut, value)
		}
		return setString(dst, value)
	}
	ok := decodeFast(data, func(key, value []byte) bool {
		switch string(key) {
		case "situation_id":
			return jsonscan.UUID(&e.SituationID, value)
		case "step_id":
			return jsonscan.UUID(&e.StepID, value)
		case "grant_id":
			return jsonscan.UUID(&e.GrantID, value)
		case "decision":
			// A member repeated is decoded into the same struct again, as
			// encoding/json does.
			return value[0] == '{' && jsonscan.PlainMembers(value, decision)
		}
		return true
	})
	return e, ok
}

// decodeFast checks data and calls set with each member of its object:
// set decodes the value of the field key names exactly, or skips it, and
// says whether it may go on. A member whose name might match a field only
// for encoding/json (another case, escaped, not ASCII) gives up.
func decodeFast(data []byte, set func(key, value []byte) bool) bool {
	return jsonscan.Valid(data) && jsonscan.PlainMembers(data, set)
}

// setString sets *dst to a plain string value; a nil dst is no field:
// any value is skipped.
func setString(dst *string, value []byte) bool {
	return dst == nil || jsonscan.String(dst, value)
}

// parseDate decodes a plain JSON string as lifeevent.Date.UnmarshalText does.
func parseDate(dst *lifeevent.Date, value []byte) bool {
	s, ok := jsonscan.PlainString(value)
	if !ok {
		return false
	}
	d, err := lifeevent.ParseDate(s)
	*dst = d
	return err == nil
}
