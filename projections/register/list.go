package register

import (
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/catalogue"
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
	_ = p.file.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPersons).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if isEntry(k) {
				continue
			}
			if f, ok := readFacts(tx.Bucket(bucketPersons), string(k)); ok && !f.Dead {
				out = append(out, f.Person)
			}
		}
		return nil
	})
	return out
}
