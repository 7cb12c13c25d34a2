package situations

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/situation"
)

// The timers fold every step decision, most of whose bytes (rules, values,
// parameters, prefill) they never read, and keep the whole decision of a
// draft only for the agency that will decide it once it is confirmed.
// encoding/json decoded all of it through reflection. Here a step decision
// is checked in one scan instead: a validity check (jsonscan), then each
// member's value against the type of its field, built from the event's Go
// type by reflection, so that the scan accepts an event only when
// encoding/json decodes it without error. The few members the index needs
// are read on the way, and a draft's decision is kept as recorded, decoded
// by encoding/json when the draft is confirmed. Anything whose decoding by
// encoding/json this does not mimic exactly (a member whose name is
// escaped, not ASCII or not lower case, a decision repeated or null, a
// read field that is not a plain string, a null identifier or instant, a
// field of a type not handled) gives up and leaves the event to
// encoding/json, so that results and errors stay its own.
// TestFastStepDecidedIsEncodingJSONs holds it to that.

// stepDecidedIndex is what the index reads of a step decision.
type stepDecidedIndex struct {
	situationID, stepID uuid.UUID
	outcome             catalogue.Outcome
	applicant, deadline string
	reminders           []string
	// decision is the decision member as recorded (a sub-slice of the
	// event's data), checked to decode without error.
	decision []byte
}

// decodeStepDecidedFast reads a step decision as encoding/json would into
// situation.StepDecided; false to leave it to encoding/json.
func decodeStepDecidedFast(data []byte) (*stepDecidedIndex, bool) {
	if !jsonscan.Valid(data) {
		return nil, false
	}
	e := &stepDecidedIndex{}
	ok := jsonscan.PlainMembers(data, func(key, value []byte) bool {
		switch string(key) {
		case "situation_id":
			return jsonscan.UUID(&e.situationID, value)
		case "step_id":
			return jsonscan.UUID(&e.stepID, value)
		case "decision":
			// Repeated, encoding/json would merge the two: not mimicked.
			if e.decision != nil || value[0] != '{' {
				return false
			}
			e.decision = value
			return jsonscan.PlainMembers(value, e.decisionMember)
		}
		return stepDecidedSchema.member(key, value)
	})
	return e, ok && e.decision != nil
}

// decisionMember reads or checks one member of the decision.
func (e *stepDecidedIndex) decisionMember(key, value []byte) bool {
	switch string(key) {
	case "outcome":
		return setString((*string)(&e.outcome), value)
	case "applicant":
		return setString(&e.applicant, value)
	case "deadline":
		return setString(&e.deadline, value)
	case "reminders":
		return jsonscan.Strings(&e.reminders, value)
	}
	return decisionSchema.member(key, value)
}

// pendingDecision is a draft's decision, kept as recorded until the draft
// is confirmed: raw, checked to decode without error, or else decoded.
type pendingDecision struct {
	raw     []byte
	decoded catalogue.StepDecision
}

// decision decodes the decision (the zero decision for none, as a missing
// entry gave).
func (p pendingDecision) decision() (catalogue.StepDecision, error) {
	if p.raw == nil {
		return p.decoded, nil
	}
	var d catalogue.StepDecision
	if err := json.Unmarshal(p.raw, &d); err != nil {
		return catalogue.StepDecision{}, fmt.Errorf("decode the draft's decision: %w", err)
	}
	return d, nil
}

// setString sets *dst to a plain string value; null leaves it, as
// encoding/json does.
func setString(dst *string, value []byte) bool {
	return string(value) == "null" || jsonscan.String(dst, value)
}

// schema is what encoding/json accepts for a Go type, for the types the
// events are made of; kind unknown for the others (the check gives up).
type schema struct {
	kind   schemaKind
	elem   *schema            // of a slice
	fields map[string]*schema // of a struct, by JSON name
}

type schemaKind uint8

const (
	unknownKind schemaKind = iota
	stringKind
	boolKind
	anyKind    // interface{}: any value whose numbers are float64s
	objectKind // map[string]any: any such object
	uuidKind
	timeKind
	sliceKind
	structKind
)

var (
	stepDecidedSchema = schemaOf(reflect.TypeFor[situation.StepDecided]())
	decisionSchema    = stepDecidedSchema.fields["decision"]
)

// schemaOf builds the schema of t.
func schemaOf(t reflect.Type) *schema {
	switch {
	case t == reflect.TypeFor[uuid.UUID]():
		return &schema{kind: uuidKind}
	case t == reflect.TypeFor[time.Time]():
		return &schema{kind: timeKind}
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()),
		reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()):
		return &schema{kind: unknownKind}
	}
	switch t.Kind() {
	case reflect.String:
		return &schema{kind: stringKind}
	case reflect.Bool:
		return &schema{kind: boolKind}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return &schema{kind: anyKind}
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Interface && t.Elem().NumMethod() == 0 {
			return &schema{kind: objectKind}
		}
	case reflect.Slice:
		return &schema{kind: sliceKind, elem: schemaOf(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	return &schema{kind: unknownKind}
}

// structSchema builds the schema of a struct by its fields' JSON names;
// unknown for what it does not follow (embedded fields, names that are
// not lower case ASCII, the string option).
func structSchema(t reflect.Type) *schema {
	s := &schema{kind: structKind, fields: map[string]*schema{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return &schema{kind: unknownKind}
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "string") || !jsonscan.PlainName([]byte(strings.ToLower(name))) || s.fields[strings.ToLower(name)] != nil {
			return &schema{kind: unknownKind}
		}
		s.fields[strings.ToLower(name)] = schemaOf(f.Type)
	}
	return s
}

// member checks the value of the member key of a struct (the name checked
// plain): true when encoding/json decodes it without error. Members that
// are no field are skipped, as encoding/json does.
func (s *schema) member(key, value []byte) bool {
	f, ok := s.fields[string(key)]
	return !ok || f.check(value)
}

// check: true when encoding/json decodes value, valid JSON, into a value
// of the schema's type without error.
func (s *schema) check(value []byte) bool {
	if value[0] == 'n' {
		// null leaves a value or sets it to nil; identifiers and
		// instants are left to encoding/json.
		return s.kind != unknownKind && s.kind != uuidKind && s.kind != timeKind
	}
	switch s.kind {
	case stringKind:
		return value[0] == '"'
	case boolKind:
		return value[0] == 't' || value[0] == 'f'
	case anyKind:
		return numbersFit(value)
	case objectKind:
		return value[0] == '{' && numbersFit(value)
	case uuidKind:
		var id uuid.UUID
		return jsonscan.UUID(&id, value)
	case timeKind:
		var at time.Time
		return at.UnmarshalJSON(value) == nil
	case sliceKind:
		return value[0] == '[' && jsonscan.Elements(value, s.elem.check)
	case structKind:
		return value[0] == '{' && jsonscan.PlainMembers(value, s.member)
	}
	return false
}

// numbersFit: every number in value, valid JSON, is in float64's range, as
// encoding/json requires of a number it decodes into an interface. Only a
// number with an exponent or hundreds of digits can be out of range.
func numbersFit(value []byte) bool {
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '"':
			i = jsonscan.StringEnd(value, i) - 1
		case c == '-' || '0' <= c && c <= '9':
			j, exp := i+1, false
			for ; j < len(value) && strings.IndexByte("0123456789+-.eE", value[j]) >= 0; j++ {
				exp = exp || value[j] == 'e' || value[j] == 'E'
			}
			if exp || j-i > 300 {
				if _, err := strconv.ParseFloat(string(value[i:j]), 64); err != nil {
					return false
				}
			}
			i = j - 1
		}
	}
	return true
}
