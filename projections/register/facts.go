package register

import (
	"slices"

	"lifesituations/domain/catalogue"
)

// Facts is one person's row in the register: the facts decisions read, plus
// what the rules do not read directly.
type Facts struct {
	catalogue.Person
	// Spouses are the persons this one married, in the order of the
	// marriages.
	Spouses []string `json:"spouses,omitempty"`
	// DateOfDeath is set with Dead.
	DateOfDeath string `json:"date_of_death,omitempty"`
}

// addUnique appends id unless the list holds it already: a fact reported
// twice (say, two records of the same birth) never doubles a relation.
func addUnique(list []string, id string) []string {
	if id == "" || slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}

// grant records that service was granted to the person.
func (f *Facts) grant(service string) { f.Granted = addUnique(f.Granted, service) }
