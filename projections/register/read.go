package register

import (
	"time"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// The reads answer "not known" when the file cannot be read (closed): the
// signatures are those of the sagas' Register port, which has no errors.

// Person returns what the register knows about a person.
func (p *Projection) Person(id string) (catalogue.Person, bool) {
	f, ok := p.Facts(id)
	return f.Person, ok
}

// Facts returns a person's whole row, with spouses and date of death.
func (p *Projection) Facts(id string) (Facts, bool) {
	var (
		f  Facts
		ok bool
	)
	_ = p.read(func(v *derived.View) error {
		f, ok = readFacts(viewBucket{v, bucketPersons}, id)
		return nil
	})
	return f, ok
}

// People returns the known persons among ids, read in one transaction so
// that they are consistent with each other.
func (p *Projection) People(ids ...string) map[string]catalogue.Person {
	out := make(map[string]catalogue.Person, len(ids))
	_ = p.read(func(v *derived.View) error {
		persons := viewBucket{v, bucketPersons}
		for _, id := range ids {
			if f, ok := readFacts(persons, id); ok {
				out[id] = f.Person
			}
		}
		return nil
	})
	return out
}

// Family returns the person with their parents, children and spouses, and
// their children's other parents: everything a decision about them may
// read. It is empty for an unknown person.
func (p *Projection) Family(id string) map[string]catalogue.Person {
	var out map[string]catalogue.Person
	_ = p.read(func(v *derived.View) error {
		persons := viewBucket{v, bucketPersons}
		out = familyOf(id, func(id string) (Facts, bool) { return readFacts(persons, id) })
		return nil
	})
	if out == nil {
		out = map[string]catalogue.Person{}
	}
	return out
}

// familyOf gathers Family with read, which returns a person's row (one the
// caller may keep: never changed after).
func familyOf(id string, read func(string) (Facts, bool)) map[string]catalogue.Person {
	out := map[string]catalogue.Person{}
	f, ok := read(id)
	if !ok {
		return out
	}
	out[id] = f.Person
	add := func(ids []string) []Facts {
		var found []Facts
		for _, rel := range ids {
			if _, seen := out[rel]; seen {
				continue
			}
			if r, ok := read(rel); ok {
				out[rel] = r.Person
				found = append(found, r)
			}
		}
		return found
	}
	add(f.Parents)
	add(f.Spouses)
	for _, child := range add(f.Children) {
		add(child.Parents)
	}
	return out
}

// readFacts decodes a person's row from the file's bucket or a Memory's
// packedRows; the Facts returned share nothing with either.
func readFacts(persons interface{ Get(k []byte) []byte }, id string) (Facts, bool) {
	v := persons.Get([]byte(id))
	if v == nil {
		return Facts{}, false
	}
	f, err := decodePacked(v)
	return f, err == nil
}

// BornOn lists the persons born on that date, from the birthday index, in
// id order. The calendar asks it for each milestone age of a day, so a
// day's sweep reads only the persons who reach one.
func (p *Projection) BornOn(year int, month time.Month, day int) []string {
	return p.indexed(birthdayPrefix(year, month, day))
}

// Birthdays lists everyone whose birthday is month/day, whatever the year,
// ordered by year of birth.
func (p *Projection) Birthdays(month time.Month, day int) []string {
	return p.indexed(monthDayPrefix(month, day))
}

func (p *Projection) indexed(prefix []byte) []string {
	var ids []string
	_ = p.read(func(v *derived.View) error {
		return v.Scan(bucketBirthdays, prefix, false, func(k, _ []byte) error {
			ids = append(ids, string(k[8:]))
			return nil
		})
	})
	return ids
}

// DraftsOf lists the drafts person is the applicant of that still wait: open,
// or submitted and not decided (the drafts to withdraw when they die).
func (p *Projection) DraftsOf(person string) []situation.DraftRef {
	var out []situation.DraftRef
	prefix := entryPrefix(person, kindDraft)
	_ = p.read(func(v *derived.View) error {
		return v.Scan(bucketPersons, prefix, false, func(k, v []byte) error {
			var r situation.DraftRef
			copy(r.Draft[:], k[len(prefix):])
			copy(r.Situation[:], v)
			out = append(out, r)
			return nil
		})
	})
	return out
}

// StandingGrants lists the grants of service (one that allows opting out)
// that person holds as applicant or beneficiary and that are not withdrawn.
func (p *Projection) StandingGrants(person, service string) []situation.GrantRef {
	var out []situation.GrantRef
	prefix := heldPrefix(person, service)
	_ = p.read(func(v *derived.View) error {
		return v.Scan(bucketPersons, prefix, false, func(k, v []byte) error {
			var r situation.GrantRef
			copy(r.Grant[:], k[len(prefix):])
			copy(r.Situation[:], v)
			out = append(out, r)
			return nil
		})
	})
	return out
}
