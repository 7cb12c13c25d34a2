package cabinet

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/jsonenc"
	"lifesituations/domain/jsonscan"
	"lifesituations/domain/situation"
)

// logEntry is one situation event as the cabinet keeps it.
type logEntry struct {
	Type string          `json:"t"`
	Data json.RawMessage `json:"d"`
}

// folded is one situation folded with the domain's own fold
// (situation.State.Apply), so that outcomes and statuses are exactly the
// domain's, plus each citizen's rating. log is the kept events encoded as
// stored (a JSON array of logEntry), appended to event by event, so that
// writing it back never encodes the older events again.
type folded struct {
	id      uuid.UUID
	log     []byte
	state   situation.State
	ratings map[string]Rating
}

func newFolded(id uuid.UUID) *folded {
	return &folded{id: id, ratings: map[string]Rating{}}
}

// event is one event ready to fold: what the log keeps of it and, for the
// kinds trim decodes, the decoded value, so that the fold does not decode
// it again.
type event struct {
	logEntry
	opened  *situation.Opened
	decided *situation.StepDecided
}

// fold applies one event and keeps it in the log.
func (f *folded) fold(e event) error {
	if err := f.apply(e); err != nil {
		return err
	}
	f.log = appendEntry(f.log, e.logEntry)
	return nil
}

// apply applies one event without keeping it: for the folds that write
// no file.
func (f *folded) apply(e event) error {
	switch {
	case e.opened != nil:
		f.state.ApplyOpened(*e.opened)
	case e.decided != nil:
		f.state.ApplyStepDecided(*e.decided)
	default:
		if err := f.state.Apply(e.Type, e.Data); err != nil {
			return err
		}
	}
	if e.Type == situation.TypeRated {
		var r situation.Rated
		if err := json.Unmarshal(e.Data, &r); err != nil {
			return fmt.Errorf("decode %s: %w", e.Type, err)
		}
		f.ratings[r.By] = Rating{Score: r.Score, Comment: r.Comment, At: r.At}
	}
	return nil
}

// entries decodes the kept log.
func (f *folded) entries() ([]logEntry, error) {
	var log []logEntry
	if err := json.Unmarshal(f.log, &log); err != nil {
		return nil, fmt.Errorf("decode log of situation %s: %w", f.id, err)
	}
	return log, nil
}

// appendEntry appends e to log, a JSON array of entries (empty: none yet),
// by hand: e's data is valid JSON already (trim encoded or checked it, or
// it was read from a stored log), which json.Marshal would check and
// compact again.
func appendEntry(log []byte, e logEntry) []byte {
	if len(log) == 0 {
		log = append(log, '[')
	} else {
		log[len(log)-1] = ','
	}
	log = append(log, `{"t":`...)
	log = appendString(log, e.Type)
	log = append(log, `,"d":`...)
	if len(e.Data) == 0 {
		log = append(log, "null"...)
	} else {
		log = append(log, e.Data...)
	}
	return append(log, "}]"...)
}

// appendString appends s as a JSON string: as it is when it needs no
// escaping (event types do not), else as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, _ := json.Marshal(s) // a string always encodes
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// outcomes snapshots every step's outcome, to tell what an event changed.
func (f *folded) outcomes() map[uuid.UUID]situation.Outcome {
	out := make(map[uuid.UUID]situation.Outcome, len(f.state.Steps))
	for _, st := range f.state.Steps {
		out[st.ID] = st.Outcome
	}
	return out
}

// trim drops from an event what the citizen never sees and the fold never
// reads (the trigger's data, the parameters, the rule checks, the facts
// but birth dates), so that the kept logs stay small. It decodes the
// events of the two kinds it trims once, into what it returns for the
// fold; the data of other kinds is kept as it is.
func trim(eventType string, data json.RawMessage) (event, error) {
	switch eventType {
	case situation.TypeOpened:
		var t openedTrim
		if err := json.Unmarshal(data, &t); err != nil {
			return event{}, fmt.Errorf("decode %s: %w", eventType, err)
		}
		o := t.Opened
		o.Trigger, o.Parameters, o.Facts = t.Trigger.Trigger, nil, nil
		o.Trigger.Data = nil
		if len(t.Facts) > 0 {
			// A decode of the kept bytes gives nil for no facts (omitempty).
			o.Facts = make(map[string]catalogue.Person, len(t.Facts))
			for id, p := range t.Facts {
				o.Facts[id] = catalogue.Person{ID: p.ID, BirthDate: p.BirthDate}
			}
		}
		raw, err := marshal(o)
		if err != nil {
			return event{}, err
		}
		return event{logEntry: logEntry{Type: eventType, Data: raw}, opened: &o}, nil
	case situation.TypeStepDecided:
		d, ok := decodeStepFast(data)
		if !ok {
			var err error
			if d, err = decodeStepStd(data); err != nil {
				return event{}, fmt.Errorf("decode %s: %w", eventType, err)
			}
		}
		raw, err := marshal(d)
		if err != nil {
			return event{}, err
		}
		return event{logEntry: logEntry{Type: eventType, Data: raw}, decided: &d}, nil
	}
	if !jsonscan.IsJSON(data) {
		return event{}, fmt.Errorf("%s: data is not valid JSON", eventType)
	}
	return event{logEntry: logEntry{Type: eventType, Data: data}}, nil
}

// decodeStepStd decodes a step.decided but what trim drops, with
// encoding/json (decodeStepFast where it can).
func decodeStepStd(data []byte) (situation.StepDecided, error) {
	var t stepDecidedTrim
	if err := json.Unmarshal(data, &t); err != nil {
		return situation.StepDecided{}, err
	}
	d := t.StepDecided
	d.Decision = t.Decision.StepDecision
	d.Decision.Rules, d.Decision.Values, d.Decision.Parameters = nil, nil, nil
	return d, nil
}

// The shapes trim decodes the events into: the events' own types, with
// what trim drops shadowed (an outer field wins over the embedded one of
// the same JSON name) by fields that decode nothing, and the facts decoded
// into only what is kept, so that the dropped parts are scanned but never
// built. trim then encodes the events' own types, byte for byte what a
// full decode would give.
type (
	openedTrim struct {
		situation.Opened
		Trigger    triggerTrim         `json:"trigger"`
		Parameters skipped             `json:"parameters"`
		Facts      map[string]factTrim `json:"facts"`
	}
	triggerTrim struct {
		situation.Trigger
		Data skipped `json:"data"`
	}
	factTrim struct {
		ID        string `json:"id"`
		BirthDate string `json:"birth_date"`
	}
	stepDecidedTrim struct {
		situation.StepDecided
		Decision decisionTrim `json:"decision"`
	}
	decisionTrim struct {
		catalogue.StepDecision
		Values     skipped `json:"values"`
		Rules      skipped `json:"rules"`
		Parameters skipped `json:"parameters"`
	}
)

// skipped is a JSON value trim drops: decoding it builds nothing.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

func marshal(v any) (json.RawMessage, error) {
	raw, err := jsonenc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return raw, nil
}
