package register

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

// sealedName stands for a personal field as the log holds it: FactPersons
// reads the facts without opening them.
const sealedName = `{"sealed":"v2:00000000-0000-4000-8000-000000000000:AAAA"}`

// namedFixture is a register in memory holding a few persons, and a fact
// of every kind about them.
type namedFixture struct {
	mother, father, single, groom, bride, widow uuid.UUID
	base                                        []eventstore.RecordedEvent
	facts                                       []sample
}

// sample is a fact opened, as the fold folds it, and sealed, as the log
// holds it and FactPersons reads it.
type sample struct{ opened, sealed eventstore.RecordedEvent }

func fact(t *testing.T, pos eventstore.Position, person uuid.UUID, typ lifeevent.Type, data map[string]any, sealed ...string) sample {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	e := eventstore.RecordedEvent{Position: pos, Stream: lifeevent.PersonStream(person),
		Event: eventstore.Event{ID: uuid.New(), Type: string(typ), Data: raw}}
	s := sample{opened: e, sealed: e}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, field := range sealed {
		m[field] = json.RawMessage(sealedName)
	}
	if s.sealed.Data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	return s
}

func newNamedFixture(t *testing.T) *namedFixture {
	f := &namedFixture{mother: uuid.New(), father: uuid.New(), single: uuid.New(), groom: uuid.New(), bride: uuid.New(), widow: uuid.New()}
	pos := eventstore.Position(0)
	next := func() eventstore.Position { pos++; return pos }
	for i, p := range []uuid.UUID{f.mother, f.father, f.single, f.groom, f.bride, f.widow} {
		citizenship := "RU"
		if i == 1 {
			citizenship = "KZ"
		}
		f.base = append(f.base, fact(t, next(), p, lifeevent.PersonRegistered, map[string]any{
			"person_id": p, "family_name": "Petrova", "given_name": "Maria", "birth_date": "1990-01-02", "sex": "F",
			"citizenship": citizenship, "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow",
		}).opened)
	}
	child, orphan, newcomer := uuid.New(), uuid.New(), uuid.New()
	f.facts = []sample{
		fact(t, next(), newcomer, lifeevent.PersonRegistered, map[string]any{
			"person_id": newcomer, "family_name": "Sidorov", "given_name": "Oleg", "birth_date": "1980-05-06", "sex": "M",
			"citizenship": "RU", "region": "RU-SPE", "time_zone": "Europe/Moscow", "address": "Saint Petersburg",
		}, "family_name", "given_name", "address"),
		fact(t, next(), child, lifeevent.BirthRegistered, map[string]any{
			"record_number": "b-1", "child_id": child, "child_family_name": "Petrov", "child_given_name": "Ivan",
			"birth_date": "2026-02-20", "sex": "M", "mother_id": f.mother, "father_id": f.father,
			"region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow",
		}, "child_family_name", "child_given_name", "address"),
		fact(t, next(), orphan, lifeevent.BirthRegistered, map[string]any{
			"record_number": "b-2", "child_id": orphan, "child_family_name": "Petrova", "child_given_name": "Anna",
			"birth_date": "2026-02-21", "sex": "F", "mother_id": f.single, "father_id": nil,
			"region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow",
		}, "child_family_name"),
		fact(t, next(), f.mother, lifeevent.ResidenceChanged, map[string]any{
			"person_id": f.mother, "from_region": "RU-MOW", "to_region": "RU-PRI", "address": "Vladivostok",
			"time_zone": "Asia/Vladivostok", "effective_date": "2026-02-25",
		}, "address"),
		fact(t, next(), f.groom, lifeevent.MarriageRegistered, map[string]any{
			"record_number": "m-1", "spouse_ids": []uuid.UUID{f.groom, f.bride}, "date": "2026-02-26",
			"new_family_names": map[string]string{f.bride.String(): "Ivanova"},
		}, "new_family_names"),
		fact(t, next(), f.father, lifeevent.DeathRegistered, map[string]any{
			"record_number": "d-1", "person_id": f.father, "date_of_death": "2026-02-28", "informant_id": f.widow, "region": "RU-MOW",
		}),
		fact(t, next(), f.widow, lifeevent.IncomeReported, map[string]any{"person_id": f.widow, "year": 2025, "annual_income_rub": 480000.5}),
	}
	return f
}

// rows is every row of m, packed, by id.
func rows(m *Memory) map[string]string {
	out := map[string]string{}
	persons := m.b.persons.(*packedRows)
	for id := range persons.byUUID {
		out[string(id[:])] = string(persons.Get(id[:]))
	}
	return out
}

// Every row a fact changes or makes is one FactPersons names, read from
// the fact as the log holds it (its personal fields sealed); a change to
// the fold that edits another row (a relative's) fails here.
func TestFactPersonsNameEveryRowTheFoldChanges(t *testing.T) {
	f := newNamedFixture(t)
	kinds := map[string]bool{}
	for _, s := range f.facts {
		e := s.opened
		m := NewMemory()
		if err := m.Apply(f.base); err != nil {
			t.Fatal(err)
		}
		before := rows(m)
		if err := m.Apply([]eventstore.RecordedEvent{e}); err != nil {
			t.Fatalf("fold %s: %v", e.Type, err)
		}
		named, ok := FactPersons(&s.sealed, nil)
		if !ok {
			t.Fatalf("%s: FactPersons gives up on %s", e.Type, s.sealed.Data)
		}
		changed := 0
		for id, row := range rows(m) {
			if before[id] == row {
				continue
			}
			changed++
			if !slices.Contains(named, uuid.MustParse(id)) {
				t.Errorf("%s changes the row of %s, which FactPersons does not name (it names %v)", e.Type, id, named)
			}
		}
		if changed == 0 {
			t.Errorf("%s changes no row: the fixture does not test it", e.Type)
		}
		kinds[e.Type] = true
		if len(named) > 1 && !slices.Contains(LinkingFacts, e.Type) {
			t.Errorf("%s names %d persons but is not among the LinkingFacts", e.Type, len(named))
		}
	}
	for _, typ := range lifeevent.Types() {
		if !kinds[string(typ)] {
			t.Errorf("no fact of type %s in the fixture", typ)
		}
	}
}

// Anything but a registry fact, and a fact whose ids do not read plainly,
// is left to the fold whatever rows are wanted.
func TestFactPersonsGivesUpOnWhatItCannotRead(t *testing.T) {
	id := uuid.New()
	person := lifeevent.PersonStream(id)
	for _, c := range []struct{ stream, typ, data string }{
		{situation.StreamPrefix + id.String(), situation.TypeStepDecided, `{"person_id":"` + id.String() + `"}`},
		{person, "age.reached", `{"person_id":"` + id.String() + `"}`},
		{person, "person.erased", `{"person_id":"` + id.String() + `"}`},
		{person, string(lifeevent.IncomeReported), `{"person_id":"not an id"}`},
		{person, string(lifeevent.IncomeReported), `{"person_id":"` + id.String() + `"`},
		{person, string(lifeevent.IncomeReported), `{"person\u005fid":"` + id.String() + `"}`},
		{person, string(lifeevent.MarriageRegistered), `{"spouse_ids":["` + id.String() + `",7]}`},
	} {
		e := eventstore.RecordedEvent{Stream: c.stream, Event: eventstore.Event{Type: c.typ, Data: []byte(c.data)}}
		if named, ok := FactPersons(&e, nil); ok {
			t.Errorf("%s %s: read as naming %v", e.Type, strings.TrimSpace(string(e.Data)), named)
		}
	}
}
