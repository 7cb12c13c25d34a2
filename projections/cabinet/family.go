package cabinet

import "lifesituations/domain/catalogue"

// Child is a person's child as the register knows them.
type Child struct {
	ID        string
	BirthDate string // YYYY-MM-DD
}

// Family tells a person's children: a parent sees the grants of those under
// 18.
type Family interface {
	Children(parent string) []Child
}

// PersonLookup finds a person in the register (register.Projection is one).
type PersonLookup interface {
	Person(id string) (catalogue.Person, bool)
}

// RegisterFamily reads children from the register of persons.
func RegisterFamily(people PersonLookup) Family { return registerFamily{people} }

type registerFamily struct{ people PersonLookup }

func (f registerFamily) Children(parent string) []Child {
	p, ok := f.people.Person(parent)
	if !ok {
		return nil
	}
	out := make([]Child, 0, len(p.Children))
	for _, id := range p.Children {
		if c, ok := f.people.Person(id); ok {
			out = append(out, Child{ID: id, BirthDate: c.BirthDate})
		}
	}
	return out
}

// minors are the person's children under 18 on the clock's date.
func (c *Cabinet) minors(person string) map[string]bool {
	if c.family == nil {
		return nil
	}
	now := c.clock.Now()
	var out map[string]bool
	for _, ch := range c.family.Children(person) {
		if ch.ID != person && minorOn(ch.BirthDate, now) {
			if out == nil {
				out = map[string]bool{}
			}
			out[ch.ID] = true
		}
	}
	return out
}
