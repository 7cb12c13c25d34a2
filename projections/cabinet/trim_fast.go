package cabinet

import (
	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/situation"
)

// decodeStepFast decodes a step.decided event as the sagas write it,
// without the decision's values, rules and parameters, which trim drops:
// one validity pass (jsonscan) and one walk through the members, where
// encoding/json checks, scans and reflects over the whole event (the step
// decisions were 6% of a burst's CPU). It gives up (false), leaving the
// event to encoding/json, on anything whose decoding it does not mimic
// exactly: a name that is not plain lower case, a member repeated, a value
// of another type or null, a string with escapes, a number beyond float64.
// TestDecodeStepFastIsEncodingJSONs holds it to the shadowed decoding.
func decodeStepFast(data []byte) (situation.StepDecided, bool) {
	var d situation.StepDecided
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
			return seen.First(7) && decodeDecisionFast(&d.Decision, value)
		}
		return true // not a member of the event's: encoding/json ignores it
	})
	return d, ok
}

// decodeDecisionFast decodes a step decision's object but the members trim
// drops, as decodeStepFast does.
func decodeDecisionFast(dec *catalogue.StepDecision, obj []byte) bool {
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
			return seen.First(14) && decodeCuratorFast(&dec.Curator, value)
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
			return seen.First(20) && decodePrefillFast(&dec.Prefill, value)
		default:
			return true // dropped (values, rules, parameters), or unknown
		}
		return seen.First(n) && jsonscan.String(str, value)
	})
}

// decodePrefillFast decodes the pre-filled fields (an object or null).
func decodePrefillFast(dst *map[string]any, value []byte) bool {
	if value[0] != '{' && string(value) != "null" {
		return false
	}
	var v any
	ok := jsonscan.Any(&v, value)
	*dst, _ = v.(map[string]any)
	return ok
}

// decodeReasonsFast decodes the reasons (an array of objects, or null).
func decodeReasonsFast(dst *[]catalogue.Reason, value []byte) bool {
	if string(value) == "null" {
		*dst = nil
		return true
	}
	out := []catalogue.Reason{}
	ok := value[0] == '[' && jsonscan.Elements(value, func(obj []byte) bool {
		var r catalogue.Reason
		if !decodeReasonFast(&r, obj) {
			return false
		}
		out = append(out, r)
		return true
	})
	*dst = out
	return ok
}

// decodeReasonFast decodes one reason's object.
func decodeReasonFast(r *catalogue.Reason, obj []byte) bool {
	var seen jsonscan.Once
	return obj[0] == '{' && jsonscan.PlainMembers(obj, func(key, value []byte) bool {
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
}

// decodeTextFast decodes a catalogue.Text object of plain strings.
func decodeTextFast(t *catalogue.Text, obj []byte) bool {
	return jsonscan.StringMembers(obj, [2]string{"ru", "en"}, [2]*string{&t.RU, &t.EN})
}

// decodeCuratorFast decodes a catalogue.Curator object of plain strings.
func decodeCuratorFast(c *catalogue.Curator, obj []byte) bool {
	return jsonscan.StringMembers(obj, [2]string{"name", "agency"}, [2]*string{&c.Name, &c.Agency})
}
