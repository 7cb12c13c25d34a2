package audit

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
)

// decodeStep decodes a step.decided event; what does not decode stays
// zero, and the comparison with the replay tells.
func decodeStep(data []byte) *stepRecord { return decodeStepRead(data, nil) }

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
func decodeStepFast(data []byte) (*stepRecord, bool) { return scanStep(data, nil) }

// decodeStepRead is decodeStep, and in the same scan what the register's
// fold reads of the event (g, when not nil), where that scan reads what
// register.Decode would.
func decodeStepRead(data []byte, g *stepRead) *stepRecord {
	if rec, ok := scanStep(data, g); ok {
		return rec
	}
	if g != nil {
		g.ok = false
	}
	return decodeStepStd(data)
}

// stepRead is what the register's fold reads of a step decision, taken by
// the scan that decodes the event for the comparison, so that
// register.Decode need not scan it again (half as much decoding of step
// decisions in a verification). It is what register.Decode would read
// (ok) only where that decoding would not give up and reads the same:
// every member name of the event and of its decision plain
// (jsonscan.PlainName, where register.Decode gives up otherwise), one
// decision (register.Decode merges repeated ones, as encoding/json does),
// and its fields decoded by the same functions.
// TestStepScanReadsWhatTheRegisterReads holds it to register.Decode.
type stepRead struct {
	read register.StepRead
	ok   bool
}

// scanStep is decodeStepFast, also filling g when it is not nil.
func scanStep(data []byte, g *stepRead) (*stepRecord, bool) {
	if !jsonscan.Valid(data) {
		return nil, false
	}
	rec := &stepRecord{}
	plain, decisions, fields := true, 0, true
	ok := jsonscan.Members(data, func(key, value []byte) bool {
		plain = plain && jsonscan.PlainName(key)
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
			decisions++
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
	var read register.StepRead
	ok = jsonscan.Members(rec.Decision, func(key, value []byte) bool {
		plain = plain && jsonscan.PlainName(key)
		var dst *string
		switch string(key) {
		case "applicant":
			fields = fields && jsonscan.String(&read.Applicant, value)
			return true
		case "beneficiary":
			fields = fields && jsonscan.String(&read.Beneficiary, value)
			return true
		case "opt_out":
			fields = fields && jsonscan.Bool(&read.OptOut, value)
			return true
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
	if g != nil && ok {
		read.SituationID, read.StepID, read.GrantID = rec.SituationID, rec.StepID, rec.GrantID
		read.Service, read.Outcome = rec.named.Service, rec.named.Outcome
		*g = stepRead{read: read, ok: plain && decisions == 1 && fields}
	}
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
			return known(key) && situation.ParsePosition(&o.RegisterPosition, value)
		case "trigger":
			return known(key) && situation.DecodeTriggerFast(&o.Trigger, value)
		default:
			return !foldsTo(key, "situation_id", "register_position", "trigger")
		}
	})
	return o, ok
}

// decodeOpening decodes a situation.opened event as json.Unmarshal does.
func decodeOpening(data []byte) *openingRecord {
	r := &openingRecord{}
	r.opened, r.err = situation.DecodeOpened(data)
	return r
}
