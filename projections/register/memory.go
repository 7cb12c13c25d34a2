package register

import (
	"fmt"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
)

// Memory is a register folded in memory with the same rules as the
// Projection's fold (the same batch code), for a one-off replay that reads
// families as of many positions (an auditor's): no file, no JSON rows, no
// commits. The persons are packed rows (packedRows), a few hundred bytes a
// person, plus the drafts still open and the standing grants. Not safe for
// concurrent use.
type Memory struct {
	b   *batch
	pos eventstore.Position
}

// NewMemory returns an empty register in memory.
func NewMemory() *Memory {
	return &Memory{b: &batch{
		steps: newMemKV(0), drafts: newMemKV(0), standings: newMemKV(0),
		// A standing grant's key is its holder's and service's prefix and
		// the grant id: the fold asks whether a prefix has a key left.
		held:    newMemKV(len(uuid.UUID{})),
		persons: newPackedRows(),
		rows:    map[string]*row{},
		reuse:   true,
	}}
}

// Position is the last position folded.
func (m *Memory) Position() eventstore.Position { return m.pos }

// Apply folds events, in log order, as Projection.Apply does (events at or
// before the position are skipped).
func (m *Memory) Apply(events []eventstore.RecordedEvent) error { return m.ApplyDecoded(events, nil) }

// ApplyDecoded is Apply with the events' data decoded ahead: decoded[i]
// is Decode(&events[i]), or zero to decode it here; decoded may be nil.
func (m *Memory) ApplyDecoded(events []eventstore.RecordedEvent, decoded []Decoded) error {
	for i, e := range events {
		if e.Position <= m.pos {
			continue
		}
		if err := m.b.apply(e, decodedAt(decoded, i)); err != nil {
			_ = m.flush()
			return fmt.Errorf("register: fold %s %s at position %d: %w", e.Type, e.ID, e.Position, err)
		}
		m.pos = e.Position
	}
	return m.flush()
}

// decodedAt is decoded[i], zero when decoded is nil.
func decodedAt(decoded []Decoded, i int) Decoded {
	if decoded == nil {
		return Decoded{}
	}
	return decoded[i]
}

// flush packs the rows the events changed and drops the decoded ones: the
// packed rows are the register.
func (m *Memory) flush() error {
	err := m.b.flush()
	clear(m.b.rows)
	return err
}

// Family is Projection.Family as of everything folded so far; the rows
// returned are decoded afresh, so later folds do not change them.
func (m *Memory) Family(id string) map[string]catalogue.Person {
	return familyOf(id, func(id string) (Facts, bool) { return readFacts(m.b.persons, id) })
}

// memKV is a bucket in a map. With a suffix length, it also counts its keys
// by their prefix without that suffix (see holdsAny).
type memKV struct {
	m      map[string][]byte
	suffix int
	groups map[string]int
}

func newMemKV(suffix int) *memKV {
	kv := &memKV{m: map[string][]byte{}, suffix: suffix}
	if suffix > 0 {
		kv.groups = map[string]int{}
	}
	return kv
}

func (kv *memKV) Get(k []byte) []byte { return kv.m[string(k)] }

func (kv *memKV) Put(k, v []byte) error {
	if _, ok := kv.m[string(k)]; !ok && kv.groups != nil {
		kv.groups[kv.group(k)]++
	}
	kv.m[string(k)] = v
	return nil
}

func (kv *memKV) Delete(k []byte) error {
	if _, ok := kv.m[string(k)]; !ok {
		return nil
	}
	delete(kv.m, string(k))
	if kv.groups != nil {
		g := kv.group(k)
		if kv.groups[g]--; kv.groups[g] <= 0 {
			delete(kv.groups, g)
		}
	}
	return nil
}

func (kv *memKV) group(k []byte) string {
	if len(k) < kv.suffix {
		return string(k)
	}
	return string(k[:len(k)-kv.suffix])
}
