package cabinet

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/jsonenc"
	"lifesituations/domain/situation"
)

// notify records a notification for every step whose outcome the event
// changed (a new step included) and for a reminder, addressed to the step's
// applicant and to its beneficiary when that is another adult.
func (b *batch) notify(f *folded, e eventstore.RecordedEvent, before map[uuid.UUID]situation.Outcome) error {
	seq := 0
	for _, st := range f.state.Steps {
		if prev, ok := before[st.ID]; ok && prev == st.Outcome {
			continue
		}
		n := f.notification(e, st, KindOutcome, st.UpdatedAt, outcomeText(e.Type, st))
		if err := b.deliver(f, st, n, e.Position, seq); err != nil {
			return err
		}
		seq++
	}
	if e.Type != situation.TypeDraftReminded {
		return nil
	}
	var r situation.DraftReminded
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return fmt.Errorf("decode %s: %w", e.Type, err)
	}
	st, ok := f.state.Step(r.DraftID)
	if !ok {
		return fmt.Errorf("reminder of unknown draft %s", r.DraftID)
	}
	n := f.notification(e, st, KindReminder, r.At, reminderText(st, r.Deadline))
	n.Deadline = r.Deadline
	return b.deliver(f, st, n, e.Position, seq)
}

func (f *folded) notification(e eventstore.RecordedEvent, st *situation.Step, kind NotificationKind, at time.Time, text catalogue.Text) Notification {
	n := Notification{
		ID: uuid.NewSHA1(e.ID, []byte("notification/"+st.ID.String())), At: at,
		Situation: f.id, SituationKind: f.state.Opened.Kind, Service: st.Decision.Service, Title: st.Decision.Title,
		Kind: kind, Outcome: st.Outcome, Text: text, Deadline: st.Decision.Deadline,
	}
	if st.Draft != nil {
		n.DraftID = st.ID
	}
	if st.Grant != nil {
		n.GrantID = st.Grant.ID
	}
	return n
}

// deliver stores n for each of its addressees, encoded once.
func (b *batch) deliver(f *folded, st *situation.Step, n Notification, pos eventstore.Position, seq int) error {
	to := f.addressees(st, n.At)
	if len(to) == 0 {
		return nil
	}
	raw, err := jsonenc.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	for _, p := range to {
		putRaw(b.v, bucketPeople, notificationKey(p, n.At, pos, seq), raw)
	}
	return nil
}

// addressees are the step's applicant and its beneficiary unless that is
// the applicant or was a minor on the day (a newborn is told nothing; their
// parent is). The birth date comes from the facts the situation was opened
// with, so a replay addresses the same persons; a beneficiary whose birth
// date is not among them is addressed. A draft withdrawn because its
// applicant died is told to the adults its withdrawal names instead (the
// other parent, the person who reported the death).
func (f *folded) addressees(st *situation.Step, on time.Time) []string {
	d := st.Decision
	if w := st.Withdrawal; w != nil && w.Notify != nil && st.Draft != nil && st.Outcome == situation.OutcomeWithdrawn {
		var out []string
		for _, id := range w.Notify {
			if p, ok := f.state.Opened.Facts[id]; ok && minorOn(p.BirthDate, on) {
				continue
			}
			out = people(append(out, id)...)
		}
		return out
	}
	out := people(d.Applicant)
	if d.Beneficiary == "" || d.Beneficiary == d.Applicant {
		return out
	}
	if p, ok := f.state.Opened.Facts[d.Beneficiary]; ok && minorOn(p.BirthDate, on) {
		return out
	}
	return append(out, d.Beneficiary)
}
