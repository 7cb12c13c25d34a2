package register_test

import (
	"testing"

	"github.com/google/uuid"
)

func TestPersonsListsTheLivingInIDOrder(t *testing.T) {
	f := newFixture(t)
	if got := f.reg.Persons(10); len(got) != 0 {
		t.Fatalf("an empty register lists %v", got)
	}
	a := uuid.MustParse("00000000-0000-4000-8000-00000000000a")
	b := uuid.MustParse("00000000-0000-4000-8000-00000000000b")
	c := uuid.MustParse("00000000-0000-4000-8000-00000000000c")
	f.register(c, "Sidorova", "Anna", "1990-01-01", "F", "RU")
	f.register(a, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	f.register(b, "Petrov", "Petr", "1980-01-01", "M", "RU")
	f.append("person-"+b.String(), "death.registered", map[string]any{
		"record_number": "d-1", "person_id": b, "date_of_death": "2026-02-28", "informant_id": a, "region": "RU-MOW",
	})

	got := f.reg.Persons(10)
	if len(got) != 2 || got[0].ID != a.String() || got[1].ID != c.String() || got[0].GivenName != "Maria" {
		t.Errorf("persons: %+v", got)
	}
	if got := f.reg.Persons(1); len(got) != 1 || got[0].ID != a.String() {
		t.Errorf("one person: %+v", got)
	}
	if got := f.reg.Persons(0); len(got) != 0 {
		t.Errorf("no person asked for: %+v", got)
	}
}
