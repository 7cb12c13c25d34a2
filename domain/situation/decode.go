package situation

import (
	"encoding/json"
	"fmt"
	"strconv"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan"
)

// The two largest events of a situation's stream, its opening (the
// family's facts) and its step decisions, are decoded in one pass after
// jsonscan's validity check wherever the event is as the sagas write it:
// encoding/json scans them several times and reflects over every member
// (22 us for an opening). Everything that folds a stream again decodes
// them (the sagas' timers, the cabinet, the auditors), so each decoder
// gives up, leaving the event to encoding/json, on anything whose decoding
// it does not mimic exactly: a member name that is not plain
// (jsonscan.PlainName), a member repeated, a null where the sagas write
// none, a value of another type, a string with escapes, a number beyond
// float64. The tests hold each one to encoding/json's result.

// DecodeOpened decodes a situation.opened event as json.Unmarshal does,
// what it decoded before an error included.
func DecodeOpened(data []byte) (Opened, error) {
	if o, ok := decodeOpenedFast(data); ok {
		return o, nil
	}
	var o Opened
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("decode %T: %w", o, err)
	}
	return o, nil
}

// DecodeStepDecided decodes a situation.step_decided event as
// json.Unmarshal does.
func DecodeStepDecided(data []byte) (StepDecided, error) {
	if d, ok := decodeStepFast(data, true); ok {
		return d, nil
	}
	var d StepDecided
	if err := json.Unmarshal(data, &d); err != nil {
		return StepDecided{}, fmt.Errorf("decode %T: %w", d, err)
	}
	return d, nil
}

// DecodeStepDecidedBrief decodes a situation.step_decided event but the
// decision's explanations (its values, rule checks and parameters), which
// only auditors read: they are scanned, never built, and stay nil.
func DecodeStepDecidedBrief(data []byte) (StepDecided, error) {
	if d, ok := decodeStepFast(data, false); ok {
		return d, nil
	}
	var t stepDecidedBrief
	if err := json.Unmarshal(data, &t); err != nil {
		return StepDecided{}, fmt.Errorf("decode %T: %w", t.StepDecided, err)
	}
	d := t.StepDecided
	d.Decision = t.Decision.StepDecision
	d.Decision.Rules, d.Decision.Values, d.Decision.Parameters = nil, nil, nil
	return d, nil
}

// stepDecidedBrief is a step decision with its explanations shadowed (an
// outer field wins over the embedded one of the same JSON name) by fields
// that decode nothing.
type (
	stepDecidedBrief struct {
		StepDecided
		Decision decisionBrief `json:"decision"`
	}
	decisionBrief struct {
		catalogue.StepDecision
		Values     skipped `json:"values"`
		Rules      skipped `json:"rules"`
		Parameters skipped `json:"parameters"`
	}
)

// skipped is a JSON value scanned and dropped: decoding it builds nothing.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// decodeStepFast decodes a step decision, with its explanations when full.
func decodeStepFast(data []byte, full bool) (StepDecided, bool) {
	var d StepDecided
	if !jsonscan.Valid(data) {
		return d, false
	}
	var seen jsonscan.Once
	ok := jsonscan.PlainMembers(data, func(key, value []byte) bool {
		switch string(key) {
		case "situation_id":
			return seen.First(0) && jsonscan.UUID(&d.SituationID, value)
		case "step_id":
			return seen.First(1) && jsonscan.UUID(&d.StepID, value)
		case "grant_id":
			return seen.First(2) && jsonscan.UUID(&d.GrantID, value)
		case "entry_id":
			return seen.First(3) && jsonscan.UUID(&d.EntryID, value)
		case "parent_step_id":
			return seen.First(4) && jsonscan.UUID(&d.ParentStepID, value)
		case "expired_step_id":
			return seen.First(5) && jsonscan.UUID(&d.ExpiredStepID, value)
		case "decided_at":
			// encoding/json hands a string to time.Time's UnmarshalJSON.
			return seen.First(6) && value[0] == '"' && d.DecidedAt.UnmarshalJSON(value) == nil
		case "decision":
			return seen.First(7) && decodeDecisionFast(&d.Decision, value, full)
		}
		return true // not a member of the event's: encoding/json ignores it
	})
	return d, ok
}

// decodeDecisionFast decodes a step decision's object, with its
// explanations when full.
func decodeDecisionFast(dec *catalogue.StepDecision, obj []byte, full bool) bool {
	if obj[0] != '{' {
		return false
	}
	var seen jsonscan.Once
	return jsonscan.PlainMembers(obj, func(key, value []byte) bool {
		var str *string // a plain string member, numbered n
		var n int
		switch string(key) {
		case "key":
			str, n = &dec.Key, 0
		case "step":
			str, n = &dec.Step, 1
		case "service":
			str, n = &dec.Service, 2
		case "agency":
			str, n = &dec.Agency, 3
		case "applicant":
			str, n = &dec.Applicant, 4
		case "beneficiary":
			str, n = &dec.Beneficiary, 5
		case "deadline":
			str, n = &dec.Deadline, 6
		case "on_expiry":
			str, n = &dec.OnExpiry, 7
		case "registry":
			str, n = &dec.Registry, 8
		case "legal_basis":
			str, n = &dec.LegalBasis, 9
		case "mode":
			str, n = (*string)(&dec.Mode), 10
		case "outcome":
			str, n = (*string)(&dec.Outcome), 11
		case "opt_out":
			return seen.First(12) && jsonscan.Bool(&dec.OptOut, value)
		case "title":
			return seen.First(13) && decodeTextFast(&dec.Title, value)
		case "curator":
			return seen.First(14) && jsonscan.StringMembers(value, [2]string{"name", "agency"}, [2]*string{&dec.Curator.Name, &dec.Curator.Agency})
		case "editable":
			return seen.First(15) && jsonscan.Strings(&dec.Editable, value)
		case "reminders":
			return seen.First(16) && jsonscan.Strings(&dec.Reminders, value)
		case "follow_ups":
			return seen.First(17) && jsonscan.Strings(&dec.FollowUps, value)
		case "item":
			return seen.First(18) && jsonscan.Any(&dec.Item, value)
		case "reasons":
			return seen.First(19) && decodeReasonsFast(&dec.Reasons, value)
		case "prefill":
			return seen.First(20) && decodeObjectFast(&dec.Prefill, value)
		case "values":
			return !full || seen.First(21) && decodeObjectFast(&dec.Values, value)
		case "rules":
			return !full || seen.First(22) && decodeRulesFast(&dec.Rules, value)
		case "parameters":
			return !full || seen.First(23) && decodeParametersFast(&dec.Parameters, value)
		default:
			return true // unknown: encoding/json ignores it
		}
		return seen.First(n) && jsonscan.String(str, value)
	})
}

// decodeObjectFast decodes a map[string]any member: an object, or null.
func decodeObjectFast(dst *map[string]any, value []byte) bool {
	if value[0] != '{' && string(value) != "null" {
		return false
	}
	var v any
	ok := jsonscan.Any(&v, value)
	*dst, _ = v.(map[string]any)
	return ok
}

// elementsFast decodes an array of objects, or null (nil), into dst, each
// element with one.
func elementsFast[T any](dst *[]T, value []byte, one func(*T, []byte) bool) bool {
	if string(value) == "null" {
		*dst = nil
		return true
	}
	out := []T{}
	ok := value[0] == '[' && jsonscan.Elements(value, func(obj []byte) bool {
		var e T
		if obj[0] != '{' || !one(&e, obj) {
			return false
		}
		out = append(out, e)
		return true
	})
	*dst = out
	return ok
}

func decodeReasonsFast(dst *[]catalogue.Reason, value []byte) bool {
	return elementsFast(dst, value, func(r *catalogue.Reason, obj []byte) bool {
		var seen jsonscan.Once
		return jsonscan.PlainMembers(obj, func(key, value []byte) bool {
			switch string(key) {
			case "kind":
				return seen.First(0) && jsonscan.String((*string)(&r.Kind), value)
			case "rule":
				return seen.First(1) && jsonscan.String(&r.Rule, value)
			case "text":
				return seen.First(2) && decodeTextFast(&r.Text, value)
			case "legal_basis":
				return seen.First(3) && jsonscan.String(&r.LegalBasis, value)
			}
			return true
		})
	})
}

func decodeRulesFast(dst *[]catalogue.RuleCheck, value []byte) bool {
	return elementsFast(dst, value, func(r *catalogue.RuleCheck, obj []byte) bool {
		var seen jsonscan.Once
		return jsonscan.PlainMembers(obj, func(key, value []byte) bool {
			switch string(key) {
			case "rule":
				return seen.First(0) && jsonscan.String(&r.Rule, value)
			case "passed":
				return seen.First(1) && jsonscan.Bool(&r.Passed, value)
			case "legal_basis":
				return seen.First(2) && jsonscan.String(&r.LegalBasis, value)
			}
			return true
		})
	})
}

func decodeParametersFast(dst *[]catalogue.ParamUse, value []byte) bool {
	return elementsFast(dst, value, func(p *catalogue.ParamUse, obj []byte) bool {
		var seen jsonscan.Once
		return jsonscan.PlainMembers(obj, func(key, value []byte) bool {
			switch string(key) {
			case "name":
				return seen.First(0) && jsonscan.String(&p.Name, value)
			case "region":
				return seen.First(1) && jsonscan.String(&p.Region, value)
			case "key":
				return seen.First(2) && jsonscan.String(&p.Key, value)
			case "value":
				return seen.First(3) && jsonscan.Any(&p.Value, value)
			case "valid_from":
				return seen.First(4) && jsonscan.String(&p.ValidFrom, value)
			case "valid_to":
				return seen.First(5) && jsonscan.String(&p.ValidTo, value)
			}
			return true
		})
	})
}

// decodeTextFast decodes a catalogue.Text object of plain strings.
func decodeTextFast(dst *catalogue.Text, value []byte) bool {
	return jsonscan.StringMembers(value, [2]string{"ru", "en"}, [2]*string{&dst.RU, &dst.EN})
}

// decodeOpenedFast decodes an opening in one pass.
func decodeOpenedFast(data []byte) (Opened, bool) {
	var o Opened
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
			return seen.First(5) && DecodeTriggerFast(&o.Trigger, value)
		case "catalogue_version":
			return seen.First(6) && jsonscan.String(&o.CatalogueVersion, value)
		case "catalogue_hash":
			return seen.First(7) && jsonscan.String(&o.CatalogueHash, value)
		case "register_position":
			return seen.First(8) && ParsePosition(&o.RegisterPosition, value)
		case "parameters":
			return seen.First(9) && decodeParametersFast(&o.Parameters, value)
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

// DecodeTriggerFast decodes an opening's trigger under the rules above
// (false: leave the opening to encoding/json). Its data is copied, as
// json.RawMessage copies it: a decoded opening outlives its event's data,
// which it must not pin.
func DecodeTriggerFast(t *Trigger, value []byte) bool {
	if value[0] != '{' {
		return false
	}
	var seen jsonscan.Once
	return jsonscan.PlainMembers(value, func(key, value []byte) bool {
		switch string(key) {
		case "event_id":
			return seen.First(0) && jsonscan.UUID(&t.EventID, value)
		case "position":
			return seen.First(1) && ParsePosition(&t.Position, value)
		case "data":
			t.Data = append(json.RawMessage(nil), value...)
			return seen.First(2)
		case "type":
			return seen.First(3) && jsonscan.String(&t.Type, value)
		case "stream":
			return seen.First(4) && jsonscan.String(&t.Stream, value)
		case "event_date":
			return seen.First(5) && jsonscan.String(&t.EventDate, value)
		}
		return true
	})
}

// ParsePosition decodes a JSON number that is a log position: digits only
// (false on anything encoding/json might decode otherwise).
func ParsePosition(dst *uint64, value []byte) bool {
	n, err := strconv.ParseUint(string(value), 10, 64)
	*dst = n
	return err == nil
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
