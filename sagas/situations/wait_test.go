package situations_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	registerprojection "lifesituations/projections/register"
	"lifesituations/sagas/situations"
)

// lagging is the real register projection that folds the log only when a
// saga waits for it, and then exactly up to the position waited for: what
// a decision sees is precisely what it waited for, never more (a register
// running ahead would hide a missing wait).
type lagging struct {
	*registerprojection.Projection
	store eventstore.Store
	mu    sync.Mutex
	// waits are the positions waited for, in order.
	waits []eventstore.Position
}

func (l *lagging) WaitFor(ctx context.Context, pos eventstore.Position) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits = append(l.waits, pos)
	for l.Position() < pos {
		evs, err := l.store.ReadAll(ctx, l.Position(), eventstore.Filter{}, 100)
		if err != nil {
			return err
		}
		n := 0
		for _, e := range evs {
			if e.Position <= pos {
				evs[n] = e
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("nothing to fold up to %d (at %d)", pos, l.Position())
		}
		if err := l.Apply(evs[:n]); err != nil {
			return err
		}
	}
	return nil
}

type lagFixture struct {
	t     *testing.T
	store *embedded.Store
	reg   *lagging
	svc   *situations.Service
}

func newLagFixture(t *testing.T) *lagFixture {
	t.Helper()
	proj, err := registerprojection.OpenProjection(filepath.Join(t.TempDir(), "register.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proj.Close() })
	var reg *lagging
	store, _, svc := openService(t, func(store *embedded.Store) situations.Register {
		reg = &lagging{Projection: proj, store: store}
		return reg
	})
	return &lagFixture{t: t, store: store, reg: reg, svc: svc}
}

// append stores a registry event and returns it as recorded.
func (f *lagFixture) append(stream, eventType string, data map[string]any) eventstore.RecordedEvent {
	f.t.Helper()
	raw, _ := json.Marshal(data)
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: eventType, SchemaVersion: 1, Data: raw})
	if err != nil {
		f.t.Fatal(err)
	}
	evs, err := f.store.ReadAll(context.Background(), res.Position-1, eventstore.Filter{}, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs[0]
}

func (f *lagFixture) registerPerson(id, given string) {
	f.append("person-"+id, "person.registered", map[string]any{
		"person_id": id, "family_name": "Ivanova", "given_name": given, "birth_date": "1994-03-01", "sex": "F",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

func (f *lagFixture) birth(mother, child, born string) eventstore.RecordedEvent {
	return f.append("person-"+mother, "birth.registered", map[string]any{
		"record_number": "770-" + child[len(child)-4:], "child_id": child, "child_family_name": "Ivanov",
		"child_given_name": "Petr", "birth_date": born, "sex": "M", "mother_id": mother, "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

func (f *lagFixture) handle(ev eventstore.RecordedEvent) situations.Opening {
	f.t.Helper()
	opened, err := f.svc.HandleTrigger(context.Background(), ev)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(opened) != 1 || !opened[0].Opened {
		f.t.Fatalf("trigger %s opened %+v", ev.Type, opened)
	}
	return opened[0]
}

func (f *lagFixture) state(id uuid.UUID) *situation.State {
	f.t.Helper()
	evs, err := f.store.ReadStream(context.Background(), situation.Stream(id), 0, eventstore.Forwards, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	st := &situation.State{}
	for _, e := range evs {
		if err := st.Apply(e.Type, e.Data); err != nil {
			f.t.Fatal(err)
		}
	}
	return st
}

func step(t *testing.T, st *situation.State, service string) *situation.Step {
	t.Helper()
	for _, s := range st.Steps {
		if s.Decision.Service == service {
			return s
		}
	}
	t.Fatalf("no step %s", service)
	return nil
}

const (
	motherA = "6f1c3c1e-0000-4000-8000-0000000000a0"
	childA1 = "6f1c3c1e-0000-4000-8000-0000000000a1"
	childA2 = "6f1c3c1e-0000-4000-8000-0000000000a2"
	motherB = "6f1c3c1e-0000-4000-8000-0000000000b0"
	childB1 = "6f1c3c1e-0000-4000-8000-0000000000b1"
)

// Two births to the same mother, both in the log before either is decided
// and decided back to back: the second decision waits for the register to
// fold the first one's grant, so maternity capital is never granted twice.
// A birth in another family decided in between waits for nothing of theirs.
func TestASecondBirthSeesTheMothersFirstGrantButNotOtherFamilies(t *testing.T) {
	f := newLagFixture(t)
	f.registerPerson(motherA, "Anna")
	f.registerPerson(motherB, "Bella")
	first := f.birth(motherA, childA1, "2026-02-10")
	other := f.birth(motherB, childB1, "2026-02-12")
	second := f.birth(motherA, childA2, "2026-02-20")

	o1 := f.handle(first)
	if s := step(t, f.state(o1.ID), "maternity-capital"); s.Outcome != catalogue.OutcomeGranted {
		t.Fatalf("first child: maternity capital %s, want granted", s.Outcome)
	}

	// Another family's birth, whose trigger precedes the first decision,
	// does not wait for the register to fold it.
	ob := f.handle(other)
	if s := step(t, f.state(ob.ID), "maternity-capital"); s.Outcome != catalogue.OutcomeGranted {
		t.Fatalf("other mother: maternity capital %s, want granted", s.Outcome)
	}
	if f.reg.Position() >= o1.Position {
		t.Errorf("deciding another family's birth folded the register to %d, past mother A's decision at %d", f.reg.Position(), o1.Position)
	}

	o2 := f.handle(second)
	if f.reg.Position() < o1.Position {
		t.Fatalf("the second birth was decided with the register at %d, before the first decision at %d", f.reg.Position(), o1.Position)
	}
	s := step(t, f.state(o2.ID), "maternity-capital")
	if s.Outcome != catalogue.OutcomeRejected {
		t.Fatalf("second child: maternity capital %s, want rejected as granted before", s.Outcome)
	}
	if len(s.Reasons) == 0 || s.Reasons[0].Rule != "not-granted-before" {
		t.Errorf("second child: reasons %+v, want not-granted-before", s.Reasons)
	}
	// Nor did it wait for mother B's decision, written after mother A's
	// first one.
	if f.reg.Position() >= ob.Position {
		t.Errorf("the second birth folded the register to %d, past mother B's decision at %d", f.reg.Position(), ob.Position)
	}
}

// A death whose trigger is in the log before the decision that drafted for
// the deceased, and which is decided right after it: the death waits for
// the register to index those drafts, and withdraws them.
func TestADeathRightAfterADecisionWithdrawsItsDrafts(t *testing.T) {
	f := newLagFixture(t)
	f.registerPerson(motherA, "Anna")
	informant := "6f1c3c1e-0000-4000-8000-0000000000f1"
	f.append("person-"+informant, "person.registered", map[string]any{
		"person_id": informant, "family_name": "Petrov", "given_name": "Ivan", "birth_date": "1990-01-01", "sex": "M",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 2",
	})
	birth := f.birth(motherA, childA1, "2026-02-20")
	death := f.append("person-"+motherA, "death.registered", map[string]any{
		"record_number": "D-1", "person_id": motherA, "date_of_death": "2026-02-25", "informant_id": informant, "region": "RU-MOW",
	})

	ob := f.handle(birth)
	var drafts int
	for _, s := range f.state(ob.ID).Steps {
		if s.Draft != nil && s.Decision.Applicant == motherA && s.Outcome == catalogue.OutcomeDrafted {
			drafts++
		}
	}
	if drafts == 0 {
		t.Fatal("the birth drafted nothing for the mother: the test proves nothing")
	}
	if death.Position >= ob.Position {
		t.Fatalf("the death (%d) is not before the birth's decision (%d)", death.Position, ob.Position)
	}

	od := f.handle(death)
	if f.reg.Position() < ob.Position {
		t.Fatalf("the death was decided with the register at %d, before the birth's decision at %d", f.reg.Position(), ob.Position)
	}
	for _, s := range f.state(ob.ID).Steps {
		if s.Draft != nil && s.Decision.Applicant == motherA && s.Outcome != situation.OutcomeWithdrawn {
			t.Errorf("%s: %s, want withdrawn after the death", s.Decision.Service, s.Outcome)
		}
	}
	_ = od
}
