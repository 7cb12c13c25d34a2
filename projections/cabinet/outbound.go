package cabinet

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// Addressed is a notification with the persons it is addressed to: the
// cabinet lists it under /v1/me/notifications of each of them.
type Addressed struct {
	Notification
	To []string `json:"recipients"`
}

// NotificationsOf derives the notifications the last of events causes,
// exactly as the cabinet records them: the same ids, texts, instants and
// addressees. events are one situation's stream in stream order, from its
// first event up to and including the one whose notifications are wanted.
//
// It lets a publisher outside the cabinet (the notifications sent on to an
// email, SMS or push gateway) tell the citizen what the cabinet shows,
// without reading the cabinet. The addressee rules are those of notify.go;
// a test keeps the two in step.
func NotificationsOf(events []eventstore.RecordedEvent) ([]Addressed, error) {
	if len(events) == 0 {
		return nil, nil
	}
	last := events[len(events)-1]
	if !isSituation(last.Stream) {
		return nil, nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(last.Stream, situation.StreamPrefix))
	if err != nil {
		return nil, fmt.Errorf("stream %s is not named by a situation id: %w", last.Stream, err)
	}
	f := newFolded(id)
	for _, e := range events[:len(events)-1] {
		if e.Stream != last.Stream {
			return nil, fmt.Errorf("notifications of %s: event %s is of stream %s", last.Stream, e.ID, e.Stream)
		}
		if err := f.apply(event{logEntry: logEntry{Type: e.Type, Data: e.Data}}); err != nil {
			return nil, fmt.Errorf("fold situation %s: %w", id, err)
		}
	}
	before := f.outcomes()
	if err := f.apply(event{logEntry: logEntry{Type: last.Type, Data: last.Data}}); err != nil {
		return nil, fmt.Errorf("fold %s %s: %w", last.Type, last.ID, err)
	}
	return f.addressed(last, before)
}

// addressed is what notify stores for e, as a list: a notification for
// every step whose outcome e changed (a new step included), then the
// reminder e is, each with its addressees.
func (f *folded) addressed(e eventstore.RecordedEvent, before map[uuid.UUID]situation.Outcome) ([]Addressed, error) {
	var out []Addressed
	for _, st := range f.state.Steps {
		if prev, ok := before[st.ID]; ok && prev == st.Outcome {
			continue
		}
		n := f.notification(e, st, KindOutcome, st.UpdatedAt, outcomeText(e.Type, st))
		out = append(out, Addressed{Notification: n, To: f.addressees(st, n.At)})
	}
	if e.Type != situation.TypeDraftReminded {
		return out, nil
	}
	var r situation.DraftReminded
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.Type, err)
	}
	st, ok := f.state.Step(r.DraftID)
	if !ok {
		return nil, fmt.Errorf("reminder of unknown draft %s", r.DraftID)
	}
	n := f.notification(e, st, KindReminder, r.At, reminderText(st, r.Deadline))
	n.Deadline = r.Deadline
	return append(out, Addressed{Notification: n, To: f.addressees(st, n.At)}), nil
}
