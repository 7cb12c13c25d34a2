package situations

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// What a situation does to the others, once its decision is recorded. Each
// is a command on the other situation's stream with a deterministic event
// id, so a redelivered trigger repeats none of it.
//
//   - withdraw_drafts_of: every draft of those persons that still waits
//     (open, or submitted with the agency's decision pending) is withdrawn,
//     in whichever situation it is, and whoever else it concerns is told
//     (the bereavement withdraws the deceased's drafts).
//   - A grant of a service that allows opting out is a standing entry (a
//     place in a queue): a newer grant of the same service to the same
//     beneficiary replaces the older one, which is withdrawn as superseded
//     (the kindergarten place follows the family to its new region).
//   - A draft addressed to a person who has died by the time it is recorded
//     is withdrawn at once: the death was handled concurrently and could not
//     see it.

// after runs the consequences of the situation id opened (now or before)
// for the trigger ev with decision d.
func (s *Service) after(ctx context.Context, id uuid.UUID, kind string, ev eventstore.RecordedEvent, d catalogue.Decision, people map[string]catalogue.Person) error {
	for _, person := range d.WithdrawDraftsOf {
		if err := s.withdrawDraftsOf(ctx, person, kind, ev, d, people); err != nil {
			return err
		}
	}
	if err := s.supersede(ctx, id, kind, ev, d); err != nil {
		return err
	}
	return s.withdrawIfDead(ctx, id, d)
}

// withdrawDraftsOf withdraws person's waiting drafts in every situation.
func (s *Service) withdrawDraftsOf(ctx context.Context, person, kind string, ev eventstore.RecordedEvent, d catalogue.Decision, people map[string]catalogue.Person) error {
	refs := s.register.DraftsOf(person)
	var sits []uuid.UUID
	for _, r := range refs {
		if !slices.Contains(sits, r.Situation) {
			sits = append(sits, r.Situation)
		}
	}
	o := situation.WithdrawOrder{Reason: situation.ReasonDied, Explanation: died(people[person]), Cause: ev.ID, Notify: []string{d.Applicant}}
	if people[person].Dead {
		// Whoever else is concerned: the informant (the situation's
		// applicant), the other persons of each situation, and for a step
		// about a minor child of the deceased, the child's other parents.
		o.Exclude = []string{person}
		o.NotifyFor = map[string][]string{}
		for _, child := range people[person].Children {
			for _, parent := range people[child].Parents {
				if parent != person && !people[parent].Dead {
					o.NotifyFor[child] = append(o.NotifyFor[child], parent)
				}
			}
		}
	} else {
		o.Reason = "withdrawn-by:" + kind
		o.Explanation = catalogue.Text{
			RU: "заявление отменено в связи с жизненной ситуацией «" + d.Title.RU + "».",
			EN: "the application was withdrawn because of the life situation “" + d.Title.EN + "”.",
		}
	}
	for _, sit := range sits {
		_, err := s.execute(ctx, sit, "saga:"+kind, func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.WithdrawDraftsOf(person, o, now), nil
		})
		if err != nil {
			return fmt.Errorf("withdraw the drafts of %s in situation %s: %w", person, sit, err)
		}
	}
	return nil
}

// died explains a withdrawal because the applicant died. It follows the
// service's title in a notification, as the other explanations do:
// «Title»: explanation.
func died(p catalogue.Person) catalogue.Text {
	who := strings.TrimSpace(p.FamilyName + " " + p.GivenName)
	if who == "" {
		return catalogue.Text{
			RU: "заявитель умер, поэтому заявление отменено.",
			EN: "the applicant died, so the application was withdrawn.",
		}
	}
	verb := "умер"
	if p.Sex == "F" {
		verb = "умерла"
	}
	return catalogue.Text{
		RU: who + " " + verb + ", поэтому заявление отменено.",
		EN: who + " died, so the application was withdrawn.",
	}
}

// supersede withdraws the older standing grants the situation's new ones
// replace: those of situations whose trigger came before this one's (a
// redelivered older trigger never withdraws a newer grant).
func (s *Service) supersede(ctx context.Context, id uuid.UUID, kind string, ev eventstore.RecordedEvent, d catalogue.Decision) error {
	for _, step := range d.Steps {
		if step.Outcome != catalogue.OutcomeGranted || !step.OptOut || step.Beneficiary == "" {
			continue
		}
		newer := situation.GrantRef{Situation: id, Grant: situation.GrantID(situation.StepID(id, step.Key))}
		why := replacedText(d.Title, step)
		for _, old := range s.register.StandingGrants(step.Beneficiary, step.Service) {
			if old.Situation == id {
				continue
			}
			_, err := s.execute(ctx, old.Situation, "saga:"+kind, func(st *situation.State, now time.Time) ([]situation.Record, error) {
				if st.Opened.Trigger.Position >= ev.Position {
					return nil, nil
				}
				return st.SupersedeGrant(old.Grant, newer, why, "saga:"+kind, now)
			})
			if err != nil {
				return fmt.Errorf("replace grant %s of situation %s: %w", old.Grant, old.Situation, err)
			}
		}
	}
	return nil
}

func replacedText(title catalogue.Text, step catalogue.StepDecision) catalogue.Text {
	t := catalogue.Text{
		RU: "запись заменена новой в жизненной ситуации «" + title.RU + "»",
		EN: "the entry was replaced by a new one in the life situation “" + title.EN + "”",
	}
	if region, _ := step.Prefill["region"].(string); region != "" {
		t.RU += ", регион " + region
		t.EN += ", region " + region
	}
	return catalogue.Text{RU: t.RU + ".", EN: t.EN + "."}
}

// withdrawIfDead withdraws the situation's drafts whose applicant the
// register, read now, knows to have died.
func (s *Service) withdrawIfDead(ctx context.Context, id uuid.UUID, d catalogue.Decision) error {
	var checked []string
	for _, step := range d.Steps {
		if step.Outcome != catalogue.OutcomeDrafted || slices.Contains(checked, step.Applicant) {
			continue
		}
		checked = append(checked, step.Applicant)
		p, ok := s.register.Person(step.Applicant)
		if !ok || !p.Dead {
			continue
		}
		person := step.Applicant
		o := situation.WithdrawOrder{Reason: situation.ReasonDied, Explanation: died(p), Exclude: []string{person}}
		_, err := s.execute(ctx, id, "saga:"+d.Situation, func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.WithdrawDraftsOf(person, o, now), nil
		})
		if err != nil {
			return fmt.Errorf("withdraw the drafts of %s, who died, in situation %s: %w", person, id, err)
		}
	}
	return nil
}
