package register

import (
	"lifesituations/domain/catalogue"
	"lifesituations/projections/derived"
)

// Persons lists up to limit living persons of the register, in id order:
// the choice the web cabinet offers in development mode, where one signs in
// by choosing a person. It reads no more rows than it returns (plus the
// dead and the index entries beside the rows it skips), so a register of
// millions answers at once.
func (p *Projection) Persons(limit int) []catalogue.Person {
	var out []catalogue.Person
	if limit <= 0 {
		return out
	}
	_ = p.read(func(v *derived.View) error {
		persons := viewBucket{v, bucketPersons}
		return v.Scan(bucketPersons, nil, false, func(k, _ []byte) error {
			if isEntry(k) {
				return nil
			}
			if f, ok := readFacts(persons, string(k)); ok && !f.Dead {
				out = append(out, f.Person)
			}
			if len(out) >= limit {
				return derived.ErrStopScan
			}
			return nil
		})
	})
	return out
}
