package situations

import (
	"context"
	"time"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// What an auditor's replay (lifesituations audit verify) needs to recompute
// a decision exactly as the service took it: the same gathering of the
// persons an event names, the same notice of a missed deadline and the
// same follow-ups, here with the catalogue and the register's families
// given rather than the live ones.

// PersonIDs lists the persons a trigger's data names (person_id,
// mother_id, spouse_ids...), in the order the service gathers their
// families in.
func PersonIDs(data map[string]any) []string { return personIDs(data) }

// Notice is the step telling that the deadline of missed passed, as Expire
// records it with the catalogue cat.
func Notice(cat *catalogue.Catalogue, missed catalogue.StepDecision, code string) (catalogue.StepDecision, error) {
	return (&Service{cat: cat}).notice(missed, code)
}

// FollowUps decides the follow-ups of step, confirmed with fields, in the
// situation st as ConfirmDraft does at now, with the catalogue cat and the
// register's families as family gives them.
func FollowUps(cat *catalogue.Catalogue, family func(id string) map[string]catalogue.Person, st *situation.State, step *situation.Step, fields map[string]any, now time.Time) ([]catalogue.StepDecision, error) {
	svc := &Service{cat: cat, register: familyRegister(family)}
	return svc.followUps(st, step, fields, now)
}

// familyRegister is a Register that knows only families: all a follow-up
// reads.
type familyRegister func(id string) map[string]catalogue.Person

func (familyRegister) WaitFor(context.Context, eventstore.Position) error { return nil }
func (familyRegister) Position() eventstore.Position                      { return 0 }
func (f familyRegister) Person(id string) (catalogue.Person, bool) {
	p, ok := f(id)[id]
	return p, ok
}
func (f familyRegister) Family(id string) map[string]catalogue.Person     { return f(id) }
func (familyRegister) DraftsOf(string) []situation.DraftRef               { return nil }
func (familyRegister) StandingGrants(string, string) []situation.GrantRef { return nil }
