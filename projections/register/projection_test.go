package register_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
)

func TestFoldsEveryEventType(t *testing.T) {
	f := newFixture(t)
	mother, father, child := uuid.New(), uuid.New(), uuid.New()
	f.register(mother, "Petrova", "Maria", "1994-03-01", "F", "RU")
	f.register(father, "Ivanov", "Ivan", "1990-07-15", "M", "KZ")
	f.birth(child, mother, &father, "2026-02-20")

	c := f.person(child)
	if c.FamilyName != "Ivanov" || c.GivenName != "Petr" || c.BirthDate != "2026-02-20" || c.Sex != "M" ||
		c.Region != "RU-SPE" || c.TimeZone != "Europe/Moscow" || c.Address != "Saint Petersburg, Nevsky 2" {
		t.Errorf("child's facts: %+v", c.Person)
	}
	if c.Citizenship != "RU" {
		t.Errorf("child of a Russian mother: citizenship %q, want RU", c.Citizenship)
	}
	if !sameSet(c.Parents, mother.String(), father.String()) {
		t.Errorf("child's parents %v", c.Parents)
	}
	for _, parent := range []uuid.UUID{mother, father} {
		if p := f.person(parent); !sameSet(p.Children, child.String()) {
			t.Errorf("children of %s: %v", parent, p.Children)
		}
	}

	f.append("person-"+mother.String(), "residence.changed", map[string]any{
		"person_id": mother, "from_region": "RU-MOW", "to_region": "RU-PRI", "address": "Vladivostok, Svetlanskaya 5",
		"time_zone": "Asia/Vladivostok", "effective_date": "2026-02-25",
	})
	m := f.person(mother)
	if m.Region != "RU-PRI" || m.Address != "Vladivostok, Svetlanskaya 5" || m.TimeZone != "Asia/Vladivostok" {
		t.Errorf("after the move: %+v", m.Person)
	}

	f.append("person-"+mother.String(), "marriage.registered", map[string]any{
		"record_number": "m-1", "spouse_ids": []uuid.UUID{mother, father}, "date": "2026-02-26",
		"new_family_names": map[string]string{mother.String(): "Ivanova"},
	})
	m, fa := f.person(mother), f.person(father)
	if m.FamilyName != "Ivanova" || fa.FamilyName != "Ivanov" {
		t.Errorf("after the marriage: mother %q, father %q", m.FamilyName, fa.FamilyName)
	}
	if !sameSet(m.Spouses, father.String()) || !sameSet(fa.Spouses, mother.String()) {
		t.Errorf("spouses: mother %v, father %v", m.Spouses, fa.Spouses)
	}

	f.append("person-"+mother.String(), "income.reported", map[string]any{"person_id": mother, "year": 2025, "annual_income_rub": 480000.5})
	f.append("person-"+mother.String(), "income.reported", map[string]any{"person_id": mother, "year": 2024, "annual_income_rub": 400000})
	if got := f.person(mother).Incomes; len(got) != 2 || got["2025"] != 480000.5 || got["2024"] != 400000 {
		t.Errorf("incomes %v", got)
	}

	f.append("person-"+father.String(), "death.registered", map[string]any{
		"record_number": "d-1", "person_id": father, "date_of_death": "2026-02-28", "informant_id": mother, "region": "RU-PRI",
	})
	if fa := f.person(father); !fa.Dead || fa.DateOfDeath != "2026-02-28" {
		t.Errorf("after the death: dead %v on %q", fa.Dead, fa.DateOfDeath)
	}
	if f.person(mother).Dead {
		t.Error("the informant is not dead")
	}

	// Family: everything a decision about the mother may read.
	fam := f.reg.Family(mother.String())
	if !sameSet(keys(fam), mother.String(), father.String(), child.String()) {
		t.Errorf("mother's family %v", keys(fam))
	}
	if fam[mother.String()].FamilyName != "Ivanova" {
		t.Errorf("family holds stale facts: %+v", fam[mother.String()])
	}
	if got := f.reg.Family(uuid.NewString()); len(got) != 0 {
		t.Errorf("family of an unknown person: %v", got)
	}
	if got := f.reg.People(mother.String(), uuid.NewString(), child.String()); !sameSet(keys(got), mother.String(), child.String()) {
		t.Errorf("people: %v", keys(got))
	}
}

func TestFamilyHoldsTheChildrensOtherParents(t *testing.T) {
	f := newFixture(t)
	father, mother1, mother2, child1, child2 := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	f.register(father, "Ivanov", "Ivan", "1980-01-01", "M", "RU")
	f.register(mother1, "Ivanova", "Anna", "1982-01-01", "F", "RU")
	f.register(mother2, "Sidorova", "Olga", "1985-01-01", "F", "BY")
	f.birth(child1, mother1, &father, "2010-05-05")
	f.birth(child2, mother2, &father, "2015-05-05")

	got := keys(f.reg.Family(father.String()))
	if !sameSet(got, father.String(), child1.String(), child2.String(), mother1.String(), mother2.String()) {
		t.Errorf("father's family %v", got)
	}
	if c := f.person(child2); c.Citizenship != "RU" {
		t.Errorf("child of a Belarusian mother and a Russian father: citizenship %q, want RU", c.Citizenship)
	}
}

func TestGrantsFromSituationEvents(t *testing.T) {
	f := newFixture(t)
	mother, child := uuid.New(), uuid.New()
	f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	f.birth(child, mother, nil, "2026-02-20")

	sit := uuid.New()
	stream := situation.Stream(sit)
	decide := func(key, service, beneficiary string, outcome catalogue.Outcome) uuid.UUID {
		step := situation.StepID(sit, key)
		f.append(stream, situation.TypeStepDecided, situation.StepDecided{
			SituationID: sit, StepID: step, DecidedAt: start,
			Decision: catalogue.StepDecision{Key: key, Service: service, Outcome: outcome,
				Applicant: mother.String(), Beneficiary: beneficiary},
		})
		return step
	}
	decide("maternity-capital", "maternity-capital", mother.String(), catalogue.OutcomeGranted)
	decide("child-snils", "child-snils", child.String(), catalogue.OutcomeGranted)
	decide("child-allowance", "child-allowance", child.String(), catalogue.OutcomeRejected)
	allowance := decide("child-health-insurance", "child-health-insurance", child.String(), catalogue.OutcomeDrafted)
	refused := decide("residence-registration", "residence-registration", child.String(), catalogue.OutcomeDrafted)
	expired := decide("kindergarten", "kindergarten-queue", child.String(), catalogue.OutcomeDrafted)

	if got := f.person(child).Granted; !sameSet(got, "child-snils") {
		t.Fatalf("child's grants before the agencies decide: %v", got)
	}
	f.append(stream, situation.TypeApplicationDecided, situation.ApplicationDecided{
		SituationID: sit, DraftID: allowance, Outcome: catalogue.OutcomeGranted, Agency: "foms", At: start})
	f.append(stream, situation.TypeApplicationDecided, situation.ApplicationDecided{
		SituationID: sit, DraftID: refused, Outcome: catalogue.OutcomeRejected, Agency: "mvd", At: start})
	f.append(stream, situation.TypeDraftExpired, situation.DraftExpired{SituationID: sit, DraftID: expired, At: start})
	// An agency decision on a draft that has expired grants nothing.
	f.append(stream, situation.TypeApplicationDecided, situation.ApplicationDecided{
		SituationID: sit, DraftID: expired, Outcome: catalogue.OutcomeGranted, Agency: "edu", At: start})

	if got := f.person(mother).Granted; !sameSet(got, "maternity-capital", "child-snils", "child-health-insurance") {
		t.Errorf("mother's grants (as applicant): %v", got)
	}
	if got := f.person(child).Granted; !sameSet(got, "child-snils", "child-health-insurance") {
		t.Errorf("child's grants (as beneficiary): %v", got)
	}
}

func TestRestartContinuesFromTheCheckpoint(t *testing.T) {
	f := newFixture(t)
	mother, first, second := uuid.New(), uuid.New(), uuid.New()
	f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	f.birth(first, mother, nil, "2020-02-20")
	before := f.reg.Position()
	f.stop()

	rec := &recordingStore{Store: f.store}
	f.open(rec)
	if got := f.reg.Position(); got != before {
		t.Fatalf("reopened at %d, want the checkpoint %d", got, before)
	}
	f.birth(second, mother, nil, "2024-02-20")
	if rec.after() != before {
		t.Errorf("subscribed after %d, want the checkpoint %d", rec.after(), before)
	}
	if got := f.person(mother).Children; !slices.Equal(got, []string{first.String(), second.String()}) {
		t.Errorf("children after a restart: %v", got)
	}
	if got := f.reg.Birthdays(time.February, 20); !sameSet(got, first.String(), second.String()) {
		t.Errorf("birthday index after a restart: %v", got)
	}
}

func TestApplySkipsWhatIsFolded(t *testing.T) {
	f := newFixture(t)
	mother := uuid.New()
	f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	events, err := f.store.ReadAll(context.Background(), 0, eventstore.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	pos := f.reg.Position()
	f.stop()
	// Folding the same events again, as a redelivery would, changes nothing.
	reg, err := register.OpenProjection(f.dir + "/register.db")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Close() }()
	if err := reg.Apply(events); err != nil {
		t.Fatal(err)
	}
	if reg.Position() != pos {
		t.Errorf("position %d, want %d", reg.Position(), pos)
	}
}

func TestBirthdayIndex(t *testing.T) {
	f := newFixture(t)
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	f.register(a, "A", "A", "2012-06-15", "F", "RU")
	f.register(b, "B", "B", "2006-06-15", "F", "RU")
	f.register(c, "C", "C", "2012-06-16", "F", "RU")

	if got := f.reg.BornOn(2012, time.June, 15); !sameSet(got, a.String()) {
		t.Errorf("born on 2012-06-15: %v", got)
	}
	if got := f.reg.Birthdays(time.June, 15); !slices.Equal(got, []string{b.String(), a.String()}) {
		t.Errorf("birthdays on 15 June, by year: %v", got)
	}
	// A corrected birth date moves the person in the index.
	f.register(a, "A", "A", "2012-06-16", "F", "RU")
	if got := f.reg.Birthdays(time.June, 15); !sameSet(got, b.String()) {
		t.Errorf("birthdays on 15 June after the correction: %v", got)
	}
	if got := f.reg.BornOn(2012, time.June, 16); !sameSet(got, a.String(), c.String()) {
		t.Errorf("born on 2012-06-16 after the correction: %v", got)
	}
}

func TestWaitFor(t *testing.T) {
	f := newFixture(t)
	first := f.append("calendar", "calendar.swept", map[string]string{"date": "2026-02-28"})

	done := make(chan error, 1)
	go func() { done <- f.reg.WaitFor(context.Background(), first+1) }()
	select {
	case err := <-done:
		t.Fatalf("WaitFor(%d) returned %v with the register at %d", first+1, err, f.reg.Position())
	default:
	}
	// Events that change no fact still move the checkpoint.
	f.append("catalogue", "catalogue.published", map[string]string{"version": "2026.11"})
	if err := <-done; err != nil {
		t.Fatalf("WaitFor: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.reg.WaitFor(ctx, first+10); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a cancelled context: %v", err)
	}
	go func() { done <- f.reg.WaitFor(context.Background(), first+10) }()
	f.stop()
	if err := <-done; !errors.Is(err, register.ErrClosed) {
		t.Errorf("WaitFor on close: %v", err)
	}
}

func TestRunFailsOnAnUndecodableFact(t *testing.T) {
	f := newFixture(t)
	f.stop()
	reg, err := register.OpenProjection(f.dir + "/register.db")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reg.Close() }()
	res, err := f.store.Append(context.Background(), "person-"+uuid.NewString(), eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: []byte(`{"birth_date": 5}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Run(context.Background(), f.store); err == nil {
		t.Fatal("Run folded an undecodable event")
	}
	if err := reg.WaitFor(context.Background(), res.Position); err == nil {
		t.Error("WaitFor waits for a register that has failed")
	}
}

// recordingStore remembers where the last subscription started.
type recordingStore struct {
	eventstore.Store
	mu   sync.Mutex
	from eventstore.Position
}

func (r *recordingStore) SubscribeAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) error {
	r.mu.Lock()
	r.from = after
	r.mu.Unlock()
	return r.Store.SubscribeAll(ctx, after, filter, handle)
}

func (r *recordingStore) after() eventstore.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.from
}

func keys(m map[string]catalogue.Person) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameSet(got []string, want ...string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	return slices.Equal(g, w)
}
