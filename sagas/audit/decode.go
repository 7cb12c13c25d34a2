package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/situation"
)

// decodeStep decodes a step.decided event; what does not decode stays
// zero, and the comparison with the replay tells.
func decodeStep(data []byte) *stepRecord {
	if rec, ok := decodeStepFast(data); ok {
		return rec
	}
	return decodeStepStd(data)
}

// decodeStepStd is decodeStep with encoding/json: the reference.
func decodeStepStd(data []byte) *stepRecord {
	rec := &stepRecord{}
	if err := json.Unmarshal(data, rec); err == nil {
		rec.decoded = json.Unmarshal(rec.Decision, &rec.named) == nil
	}
	return rec
}

// decodeStepFast decodes a step.decided event as the sagas write it, in one
// pass after the validity check (jsonscan), where encoding/json checks and
// scans the decision five times (it is most of the event). It gives up (false),
// leaving the event to decodeStepStd, on anything whose decoding by
// encoding/json it does not mimic exactly: a member it reads whose name is
// escaped, not ASCII or matches only case-insensitively, or whose value is
// not a plain string (the ids, the decision's key, service and outcome) or
// an object (the decision). TestDecodeStepFastIsEncodingJSONs holds it to
// decodeStepStd's result.
func decodeStepFast(data []byte) (*stepRecord, bool) {
	if !jsonscan.Valid(data) {
		return nil, false
	}
	rec := &stepRecord{}
	ok := jsonscan.Members(data, func(key, value []byte) bool {
		var id *uuid.UUID
		switch string(key) {
		case "situation_id":
			id = &rec.SituationID
		case "step_id":
			id = &rec.StepID
		case "grant_id":
			id = &rec.GrantID
		case "entry_id":
			id = &rec.EntryID
		case "parent_step_id":
			id = &rec.ParentStepID
		case "expired_step_id":
			id = &rec.ExpiredStepID
		case "decision":
			if value[0] != '{' {
				return false
			}
			rec.Decision = value // later duplicates replace it, as in encoding/json
			return true
		case "decided_at":
			// encoding/json hands a string to time.Time's UnmarshalJSON.
			return value[0] == '"' && rec.DecidedAt.UnmarshalJSON(value) == nil
		default:
			return !foldsTo(key, "situation_id", "step_id", "grant_id", "entry_id", "parent_step_id", "expired_step_id", "decision", "decided_at")
		}
		return jsonscan.UUID(id, value)
	})
	if !ok || rec.Decision == nil {
		return nil, false
	}
	ok = jsonscan.Members(rec.Decision, func(key, value []byte) bool {
		var dst *string
		switch string(key) {
		case "key":
			dst = &rec.named.Key
		case "service":
			dst = &rec.named.Service
		case "registry":
			dst = &rec.named.Registry
		case "on_expiry":
			dst = &rec.named.OnExpiry
		case "follow_ups":
			return jsonscan.Strings(&rec.named.FollowUps, value)
		case "outcome":
			s, ok := jsonscan.PlainString(value)
			rec.named.Outcome = catalogue.Outcome(s)
			return ok
		default:
			return !foldsTo(key, "key", "service", "outcome", "registry", "on_expiry", "follow_ups")
		}
		return jsonscan.String(dst, value)
	})
	rec.decoded = ok
	return rec, ok
}

// foldsTo reports whether key is one of names but for case, or might be
// for encoding/json (escaped or not ASCII): the caller gives up then.
func foldsTo(key []byte, names ...string) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return true
		}
	}
	return false
}

// planOpening is what the plan reads of an opening.
type planOpening struct {
	SituationID      uuid.UUID           `json:"situation_id"`
	RegisterPosition eventstore.Position `json:"register_position"`
	Trigger          situation.Trigger   `json:"trigger"`
}

// decodePlanOpening decodes an opening for the plan, as json.Unmarshal
// would (decodePlanOpeningFast, or json.Unmarshal where it gives up).
func decodePlanOpening(data []byte) (planOpening, error) {
	if o, ok := decodePlanOpeningFast(data); ok {
		return o, nil
	}
	var o planOpening
	err := json.Unmarshal(data, &o)
	return o, err
}

// decodePlanOpeningFast decodes an opening as the sagas write it, skipping
// its facts (most of it) without decoding them, under the rules of
// decodeStepFast; a member repeated is left to encoding/json too.
// TestDecodePlanOpeningFastIsEncodingJSONs holds it to json.Unmarshal.
func decodePlanOpeningFast(data []byte) (planOpening, bool) {
	var o planOpening
	if !jsonscan.Valid(data) {
		return o, false
	}
	seen := map[string]bool{}
	known := func(key []byte) bool {
		if seen[string(key)] {
			return false
		}
		seen[string(key)] = true
		return true
	}
	ok := jsonscan.Members(data, func(key, value []byte) bool {
		switch string(key) {
		case "situation_id":
			return known(key) && jsonscan.UUID(&o.SituationID, value)
		case "register_position":
			return known(key) && parsePosition(&o.RegisterPosition, value)
		case "trigger":
			return known(key) && decodeTriggerFast(&o.Trigger, value)
		default:
			return !foldsTo(key, "situation_id", "register_position", "trigger")
		}
	})
	return o, ok
}

// parsePosition decodes a JSON number that is a position: digits only.
func parsePosition(dst *eventstore.Position, value []byte) bool {
	n, err := strconv.ParseUint(string(value), 10, 64)
	*dst = n
	return err == nil
}

// decodeTriggerFast decodes an opening's trigger under the rules of
// decodePlanOpeningFast. Its data is copied, as json.RawMessage copies it:
// a decoded opening outlives its event's data, which it must not pin.
func decodeTriggerFast(t *situation.Trigger, value []byte) bool {
	if value[0] != '{' {
		return false
	}
	var seen jsonscan.Once
	return jsonscan.Members(value, func(key, value []byte) bool {
		switch string(key) {
		case "event_id":
			return seen.First(0) && jsonscan.UUID(&t.EventID, value)
		case "position":
			return seen.First(1) && parsePosition(&t.Position, value)
		case "data":
			t.Data = append(json.RawMessage(nil), value...)
			return seen.First(2)
		case "type":
			return seen.First(3) && jsonscan.String(&t.Type, value)
		case "stream":
			return seen.First(4) && jsonscan.String(&t.Stream, value)
		case "event_date":
			return seen.First(5) && jsonscan.String(&t.EventDate, value)
		default:
			return !foldsTo(key, "event_id", "type", "stream", "position", "event_date", "data")
		}
	})
}

// decodeOpening decodes a situation.opened event as json.Unmarshal does
// (decodeOpeningFast, or json.Unmarshal where it gives up).
func decodeOpening(data []byte) *openingRecord {
	r := &openingRecord{}
	if o, ok := decodeOpeningFast(data); ok {
		r.opened = o
		return r
	}
	r.err = json.Unmarshal(data, &r.opened)
	return r
}

// decodeOpeningFast decodes an opening as the sagas write it, in one pass
// after the validity check, where encoding/json took 22 us an opening (its
// facts are most of it). It gives up, leaving the opening to
// json.Unmarshal, on a member name that is not plain (jsonscan.PlainName),
// a member repeated, a null where the sagas write none, or a value of
// another type; the parameters, small and of any type, go to
// json.Unmarshal. TestDecodeOpeningFastIsEncodingJSONs holds it to
// json.Unmarshal.
func decodeOpeningFast(data []byte) (situation.Opened, bool) {
	var o situation.Opened
	if !jsonscan.Valid(data) {
		return o, false
	}
	var seen jsonscan.Once
	ok := jsonscan.PlainMembers(data, func(key, value []byte) bool {
		switch string(key) {
		case "situation_id":
			return seen.First(0) && jsonscan.UUID(&o.SituationID, value)
		case "kind":
			return seen.First(1) && jsonscan.String(&o.Kind, value)
		case "title":
			return seen.First(2) && decodeTextFast(&o.Title, value)
		case "person_id":
			return seen.First(3) && jsonscan.String(&o.PersonID, value)
		case "participants":
			return seen.First(4) && jsonscan.Strings(&o.Participants, value)
		case "trigger":
			return seen.First(5) && decodeTriggerFast(&o.Trigger, value)
		case "catalogue_version":
			return seen.First(6) && jsonscan.String(&o.CatalogueVersion, value)
		case "catalogue_hash":
			return seen.First(7) && jsonscan.String(&o.CatalogueHash, value)
		case "register_position":
			return seen.First(8) && parsePosition(&o.RegisterPosition, value)
		case "parameters":
			return seen.First(9) && value[0] == '[' && json.Unmarshal(value, &o.Parameters) == nil
		case "facts":
			return seen.First(10) && decodeFactsFast(&o.Facts, value)
		case "opened_at":
			// encoding/json hands a string to time.Time's UnmarshalJSON.
			return seen.First(11) && value[0] == '"' && o.OpenedAt.UnmarshalJSON(value) == nil
		}
		return true
	})
	return o, ok
}

// decodeTextFast decodes a catalogue.Text object of plain strings.
func decodeTextFast(dst *catalogue.Text, value []byte) bool {
	return jsonscan.StringMembers(value, [2]string{"ru", "en"}, [2]*string{&dst.RU, &dst.EN})
}

// decodeFactsFast decodes the facts of an opening: persons by their ids,
// a repeated id replacing the person, as in encoding/json.
func decodeFactsFast(dst *map[string]catalogue.Person, value []byte) bool {
	if value[0] != '{' {
		return false
	}
	facts := map[string]catalogue.Person{}
	ok := jsonscan.Members(value, func(key, value []byte) bool {
		id, ok := jsonscan.Plain(key)
		if !ok {
			return false
		}
		p, ok := decodePersonFast(value)
		facts[id] = p
		return ok
	})
	*dst = facts
	return ok
}

func decodePersonFast(value []byte) (catalogue.Person, bool) {
	var p catalogue.Person
	if value[0] != '{' {
		return p, false
	}
	var seen jsonscan.Once
	ok := jsonscan.PlainMembers(value, func(key, value []byte) bool {
		switch string(key) {
		case "id":
			return seen.First(0) && jsonscan.String(&p.ID, value)
		case "family_name":
			return seen.First(1) && jsonscan.String(&p.FamilyName, value)
		case "given_name":
			return seen.First(2) && jsonscan.String(&p.GivenName, value)
		case "birth_date":
			return seen.First(3) && jsonscan.String(&p.BirthDate, value)
		case "sex":
			return seen.First(4) && jsonscan.String(&p.Sex, value)
		case "citizenship":
			return seen.First(5) && jsonscan.String(&p.Citizenship, value)
		case "region":
			return seen.First(6) && jsonscan.String(&p.Region, value)
		case "time_zone":
			return seen.First(7) && jsonscan.String(&p.TimeZone, value)
		case "address":
			return seen.First(8) && jsonscan.String(&p.Address, value)
		case "previous_family_name":
			return seen.First(9) && jsonscan.String(&p.PreviousFamilyName, value)
		case "children":
			return seen.First(10) && jsonscan.Strings(&p.Children, value)
		case "parents":
			return seen.First(11) && jsonscan.Strings(&p.Parents, value)
		case "granted":
			return seen.First(12) && jsonscan.Strings(&p.Granted, value)
		case "incomes":
			return seen.First(13) && decodeIncomesFast(&p.Incomes, value)
		case "dead":
			return seen.First(14) && jsonscan.Bool(&p.Dead, value)
		}
		return true
	})
	return p, ok
}

// decodeIncomesFast decodes a person's incomes: null, or an object of
// numbers by year.
func decodeIncomesFast(dst *map[string]float64, value []byte) bool {
	if string(value) == "null" {
		*dst = nil
		return true
	}
	if value[0] != '{' {
		return false
	}
	incomes := map[string]float64{}
	ok := jsonscan.Members(value, func(key, value []byte) bool {
		year, ok := jsonscan.Plain(key)
		if !ok || value[0] != '-' && (value[0] < '0' || value[0] > '9') {
			return false
		}
		f, err := strconv.ParseFloat(string(value), 64)
		incomes[year] = f
		return err == nil
	})
	*dst = incomes
	return ok
}
