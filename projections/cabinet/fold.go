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
	err := eachEntry(f.log, func(e logEntry) error {
		log = append(log, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("log of situation %s: %w", f.id, err)
	}
	return log, nil
}

// eachEntry calls fn with each entry of a kept log, its data still log's
// bytes. The logs are written by appendEntry, which jsonscan splits in one
// pass; anything else goes to encoding/json.
func eachEntry(log []byte, fn func(logEntry) error) error {
	var entries []logEntry
	if !jsonscan.Valid(log) || !jsonscan.Elements(log, func(obj []byte) bool {
		var e logEntry
		var seen jsonscan.Once
		ok := jsonscan.PlainMembers(obj, func(key, value []byte) bool {
			switch string(key) {
			case "t":
				return seen.First(0) && jsonscan.String(&e.Type, value)
			case "d":
				e.Data = value
				return seen.First(1)
			}
			return true
		})
		entries = append(entries, e)
		return ok
	}) {
		entries = nil
		if err := json.Unmarshal(log, &entries); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
	}
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
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
// events of the two kinds it trims once (the step decisions without what
// it drops), into what it returns for the fold; the data of other kinds
// is kept as it is.
func trim(eventType string, data json.RawMessage) (event, error) {
	switch eventType {
	case situation.TypeOpened:
		o, err := situation.DecodeOpened(data)
		if err != nil {
			return event{}, err
		}
		o.Trigger.Data, o.Parameters = nil, nil
		for id, p := range o.Facts {
			o.Facts[id] = catalogue.Person{ID: p.ID, BirthDate: p.BirthDate}
		}
		if len(o.Facts) == 0 {
			o.Facts = nil // a decode of the kept bytes gives nil for no facts (omitempty)
		}
		raw, err := marshal(o)
		if err != nil {
			return event{}, err
		}
		return event{logEntry: logEntry{Type: eventType, Data: raw}, opened: &o}, nil
	case situation.TypeStepDecided:
		d, err := situation.DecodeStepDecidedBrief(data)
		if err != nil {
			return event{}, err
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

func marshal(v any) (json.RawMessage, error) {
	raw, err := jsonenc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return raw, nil
}
