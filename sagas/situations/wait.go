package situations

import (
	"context"
	"fmt"
	"sync"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// What a decision must see of the decisions before it.
//
// A decision reads the register, which folds the log behind the writers.
// Of what the sagas themselves write, the register keeps only facts keyed
// by person (projections/register, grants.go):
//
//   - a person's granted services (Person.Granted), for the applicant and
//     the beneficiary of a step granted at once or by the agency, removed
//     again when a standing grant is withdrawn from its holders;
//   - the index of waiting drafts by applicant (DraftsOf);
//   - the index of standing grants by holder, applicant and beneficiary
//     (StandingGrants).
//
// A decision reads only persons: the families of the persons its trigger
// names (Family: the person, parents, spouses, children and the children's
// other parents), the time zone of the first of them, and, once decided,
// the waiting drafts of the persons it withdraws the drafts of, the
// standing grants of its grants' beneficiaries and whether its drafts'
// applicants have died. So the service remembers, per person, the last
// position at which it wrote something changing the person's facts (every
// applicant, beneficiary, participant and main person of the situation it
// appended to, see touched), and a decision waits for the register to reach
// the trigger and the last writes of every person it reads, rather than
// everything any saga wrote: decisions about unrelated families no longer
// wait for each other's folds.
//
// The set of persons is known only from the register's families, read
// after the wait: the wait is repeated until the persons read need no
// later position (families grow only by life events, so this ends). What
// was written concurrently, while a decision is being taken, was not seen
// before either: the sagas are partitioned by person, and the
// consequences (withdrawIfDead, supersede) cover what two partitions
// decide at the same time.

// writes is the last position written per person. Entries the register
// has already folded are pruned once the map has doubled since the last
// pruning, so it holds about the persons written since the register's
// position, however many persons are written over time.
type writes struct {
	mu      sync.Mutex
	last    map[string]eventstore.Position
	pruneAt int
}

// minPrune is the size below which the map is not pruned.
const minPrune = 1024

// record notes that pos changed the facts of persons; reached tells how far
// the register has folded, for pruning.
func (w *writes) record(pos eventstore.Position, reached func() eventstore.Position, persons []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]eventstore.Position{}
	}
	for _, p := range persons {
		if p != "" && w.last[p] < pos {
			w.last[p] = pos
		}
	}
	if len(w.last) < max(w.pruneAt, minPrune) {
		return
	}
	r := reached()
	for p, at := range w.last {
		if at <= r {
			delete(w.last, p)
		}
	}
	w.pruneAt = 2 * len(w.last)
}

// upTo is the last position written for any of the persons (0: none the
// register has not folded yet, as far as pruning knows).
func (w *writes) upTo(persons ...[]string) eventstore.Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pos eventstore.Position
	for _, list := range persons {
		for _, p := range list {
			pos = max(pos, w.last[p])
		}
	}
	return pos
}

// size is the number of persons remembered.
func (w *writes) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.last)
}

// wrote records that pos changed the register facts of persons.
func (s *Service) wrote(pos eventstore.Position, persons ...string) {
	s.written.record(pos, s.register.Position, persons)
}

// waitFor blocks until the register has folded pos (nothing to wait for
// when it is 0).
func (s *Service) waitFor(ctx context.Context, pos eventstore.Position) error {
	if pos == 0 {
		return nil
	}
	if err := s.register.WaitFor(ctx, pos); err != nil {
		return fmt.Errorf("wait for the register to reach %d: %w", pos, err)
	}
	return nil
}

// gather waits for the register to fold the trigger at pos and the last
// writes of every person the trigger's data names and of their families,
// and returns those families, read once no person read has a later write.
func (s *Service) gather(ctx context.Context, pos eventstore.Position, data map[string]any) (map[string]catalogue.Person, error) {
	named := personIDs(data)
	upTo := max(pos, s.written.upTo(named))
	for {
		if err := s.waitFor(ctx, upTo); err != nil {
			return nil, err
		}
		people := s.people(data)
		ids := make([]string, 0, len(people))
		for id := range people {
			ids = append(ids, id)
		}
		need := s.written.upTo(named, ids)
		if need <= upTo {
			return people, nil
		}
		upTo = need
	}
}

// readAfter lists the persons the consequences of d read from the
// register besides the trigger's families: those whose drafts it
// withdraws, its applicant and participants, and its steps' applicants and
// beneficiaries (standing grants, deaths).
func readAfter(d catalogue.Decision) []string {
	out := append([]string{d.Applicant}, d.WithdrawDraftsOf...)
	out = append(out, d.Participants...)
	for _, st := range d.Steps {
		out = append(out, st.Applicant, st.Beneficiary)
	}
	return out
}

// decided lists the persons whose register facts opening a situation with
// decision d may change.
func decided(o situation.Opened, d catalogue.Decision) []string {
	out := append([]string{o.PersonID, d.Applicant}, o.Participants...)
	out = append(out, d.Participants...)
	for _, st := range d.Steps {
		out = append(out, st.Applicant, st.Beneficiary)
	}
	return out
}

// touched lists the persons whose register facts appending recs to the
// situation st may change: everyone the situation concerns and every
// applicant and beneficiary of its steps, those recs add included.
func touched(st *situation.State, recs []situation.Record) []string {
	out := append([]string{st.Opened.PersonID}, st.Opened.Participants...)
	for _, step := range st.Steps {
		out = append(out, step.Decision.Applicant, step.Decision.Beneficiary)
	}
	for _, r := range recs {
		var d catalogue.StepDecision
		switch e := r.Data.(type) {
		case situation.StepDecided:
			d = e.Decision
		case *situation.StepDecided:
			d = e.Decision
		default:
			continue
		}
		out = append(out, d.Applicant, d.Beneficiary)
	}
	return out
}
