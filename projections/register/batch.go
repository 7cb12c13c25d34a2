package register

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/lifeevent"
	"lifesituations/projections/derived"
)

// batch is the persons one write transaction touches, decoded once and
// written back once at the end, however many events of the batch change
// them (a mother with twins, a marriage of two persons). A register folded
// in memory (Memory) keeps one batch for good, whose persons are
// packedRows and which keeps no birthday index (birthdays is nil).
type batch struct {
	persons   kv
	birthdays kv
	steps     kv
	drafts    kv
	standings kv
	held      kv
	rows      map[string]*row
	// reuse: persons copies what Put is given (packedRows, a batch of
	// the live fold), so the rows are encoded into buf, one buffer for
	// all; bbolt keeps each slice until the commit, so rows put straight
	// into a file (a scratch register's) each have their own.
	reuse bool
	buf   []byte
}

// kv is what the fold needs of a bucket: bbolt's, or a map (memKV) for a
// register folded in memory.
type kv interface {
	Get(k []byte) []byte
	Put(k, v []byte) error
	Delete(k []byte) error
}

type row struct {
	facts Facts
	// stored is the birthday index key the row has in the file (nil for a
	// new person), so that a corrected birth date moves the index entry.
	stored []byte
	dirty  bool
}

func newBatch(tx *bolt.Tx) *batch {
	return &batch{
		persons:   tx.Bucket(bucketPersons),
		birthdays: tx.Bucket(bucketBirthdays),
		steps:     tx.Bucket(bucketSteps),
		drafts:    tx.Bucket(bucketPersons),
		standings: tx.Bucket(bucketStanding),
		held:      tx.Bucket(bucketPersons),
		rows:      map[string]*row{},
	}
}

// newViewBatch is a batch of the live fold: it reads the file under the
// writes the file has not taken yet, and writes into v (derived.Pending).
func newViewBatch(v *derived.Batch) *batch {
	persons := viewKV{viewBucket{&v.View, bucketPersons}, v}
	return &batch{
		persons:   persons,
		birthdays: viewKV{viewBucket{&v.View, bucketBirthdays}, v},
		steps:     viewKV{viewBucket{&v.View, bucketSteps}, v},
		drafts:    persons,
		standings: viewKV{viewBucket{&v.View, bucketStanding}, v},
		held:      persons,
		rows:      map[string]*row{},
		// The batch copies what it is given.
		reuse: true,
	}
}

// viewBucket is a bucket of the file read through a view of it.
type viewBucket struct {
	v    *derived.View
	name []byte
}

func (b viewBucket) Get(k []byte) []byte { return b.v.Get(b.name, k) }

// viewKV is a bucket of the file as a batch of the live fold reads and
// writes it.
type viewKV struct {
	viewBucket
	w *derived.Batch
}

func (kv viewKV) Put(k, v []byte) error {
	kv.w.Put(kv.name, k, v)
	return nil
}

func (kv viewKV) Delete(k []byte) error {
	kv.w.Delete(kv.name, k)
	return nil
}

// load returns the person's row, nil when the register does not know them.
func (b *batch) load(id string) (*row, error) {
	if r, ok := b.rows[id]; ok {
		return r, nil
	}
	v := b.persons.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	f, err := decodePacked(v)
	if err != nil {
		return nil, fmt.Errorf("decode person %s: %w", id, err)
	}
	r := &row{facts: f}
	if b.birthdays != nil {
		r.stored = indexKey(&r.facts)
	}
	b.rows[id] = r
	return r, nil
}

// edit returns a known person's facts for change, nil for an unknown
// person: a fact about someone never registered must not make them look
// known (validation refuses such events; this guards a replay).
func (b *batch) edit(id string) (*Facts, error) {
	r, err := b.load(id)
	if r == nil || err != nil {
		return nil, err
	}
	r.dirty = true
	return &r.facts, nil
}

// create returns the person's facts for change, adding them when unknown.
func (b *batch) create(id string) (*Facts, error) {
	r, err := b.load(id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &row{facts: Facts{}}
		r.facts.ID = id
		b.rows[id] = r
	}
	r.dirty = true
	return &r.facts, nil
}

// flush writes the changed rows and keeps the birthday index in step, if
// the batch has one.
func (b *batch) flush() error {
	for id, r := range b.rows {
		if !r.dirty {
			continue
		}
		var packed []byte
		if b.reuse {
			b.buf = appendPacked(b.buf[:0], &r.facts)
			packed = b.buf
		} else {
			packed = appendPacked(nil, &r.facts)
		}
		if err := b.persons.Put([]byte(id), packed); err != nil {
			return fmt.Errorf("write person %s: %w", id, err)
		}
		r.dirty = false
		if b.birthdays == nil {
			continue
		}
		key := indexKey(&r.facts)
		if string(key) == string(r.stored) {
			continue
		}
		if r.stored != nil {
			if err := b.birthdays.Delete(r.stored); err != nil {
				return fmt.Errorf("unindex birthday of %s: %w", id, err)
			}
		}
		if key != nil {
			if err := b.birthdays.Put(key, []byte{}); err != nil {
				return fmt.Errorf("index birthday of %s: %w", id, err)
			}
		}
		r.stored = key
	}
	return nil
}

// indexKey is the person's birthday index key, nil without a valid birth date.
func indexKey(f *Facts) []byte {
	d, err := lifeevent.ParseDate(f.BirthDate)
	if err != nil {
		return nil
	}
	return birthdayKey(d.Year, d.Month, d.Day, f.ID)
}
