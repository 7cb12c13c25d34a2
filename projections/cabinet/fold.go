package cabinet

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// logEntry is one situation event as the cabinet keeps it.
type logEntry struct {
	Type string          `json:"t"`
	Data json.RawMessage `json:"d"`
}

// folded is one situation folded with the domain's own fold
// (situation.State.Apply), so that outcomes and statuses are exactly the
// domain's, plus each citizen's rating.
type folded struct {
	id      uuid.UUID
	log     []logEntry
	state   situation.State
	ratings map[string]Rating
}

func newFolded(id uuid.UUID) *folded {
	return &folded{id: id, ratings: map[string]Rating{}}
}

// fold applies one event and keeps it in the log.
func (f *folded) fold(e logEntry) error {
	if err := f.state.Apply(e.Type, e.Data); err != nil {
		return err
	}
	if e.Type == situation.TypeRated {
		var r situation.Rated
		if err := json.Unmarshal(e.Data, &r); err != nil {
			return fmt.Errorf("decode %s: %w", e.Type, err)
		}
		f.ratings[r.By] = Rating{Score: r.Score, Comment: r.Comment, At: r.At}
	}
	f.log = append(f.log, e)
	return nil
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
// but birth dates), so that the kept logs stay small.
func trim(eventType string, data json.RawMessage) (json.RawMessage, error) {
	switch eventType {
	case situation.TypeOpened:
		var t openedTrim
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", eventType, err)
		}
		o := t.Opened
		o.Trigger, o.Parameters = t.Trigger.Trigger, nil
		o.Trigger.Data = nil
		facts := make(map[string]catalogue.Person, len(t.Facts))
		for id, p := range t.Facts {
			facts[id] = catalogue.Person{ID: p.ID, BirthDate: p.BirthDate}
		}
		o.Facts = facts
		return marshal(o)
	case situation.TypeStepDecided:
		var t stepDecidedTrim
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", eventType, err)
		}
		d := t.StepDecided
		d.Decision = t.Decision.StepDecision
		d.Decision.Rules, d.Decision.Values, d.Decision.Parameters = nil, nil, nil
		return marshal(d)
	}
	return data, nil
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
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return raw, nil
}
