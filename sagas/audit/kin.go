package audit

import (
	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
)

// The replay folds into its fresh register only the facts of the persons
// whose rows a decision can read. A decision reads the families of the
// persons its trigger names (register.Family: them, their parents,
// spouses and children, and the children's other parents), and a row is
// made from the facts naming its person (register.FactPersons) and, for a
// child's citizenship, from the parents' rows as the birth found them.
// So the rows read are all within the kin groups of the persons the
// decisions name: the persons joined, directly or through others, by the
// facts that name several (register.LinkingFacts). The facts of everyone
// else (more than two persons in three in the million-person year) are read and
// chained but neither opened nor folded: no decision can see them.

// kin joins the persons that facts name together (a union-find).
type kin struct {
	index  map[uuid.UUID]int32
	parent []int32
}

func newKin() *kin { return &kin{index: map[uuid.UUID]int32{}} }

func (k *kin) of(p uuid.UUID) int32 {
	i, ok := k.index[p]
	if !ok {
		i = int32(len(k.parent))
		k.index[p] = i
		k.parent = append(k.parent, i)
	}
	return i
}

func (k *kin) root(i int32) int32 {
	for k.parent[i] != i {
		k.parent[i] = k.parent[k.parent[i]]
		i = k.parent[i]
	}
	return i
}

// join puts the persons of one fact in one group.
func (k *kin) join(persons []uuid.UUID) {
	if len(persons) < 2 {
		return
	}
	first := k.root(k.of(persons[0]))
	for _, p := range persons[1:] {
		if r := k.root(k.of(p)); r != first {
			k.parent[r] = first
		}
	}
}

// groupsOf returns the persons named and everyone in their groups.
func (k *kin) groupsOf(named map[uuid.UUID]struct{}) map[uuid.UUID]struct{} {
	roots := map[int32]bool{}
	for p := range named {
		if i, ok := k.index[p]; ok {
			roots[k.root(i)] = true
		}
	}
	out := make(map[uuid.UUID]struct{}, len(named))
	for p := range named {
		out[p] = struct{}{}
	}
	for p, i := range k.index {
		if roots[k.root(i)] {
			out[p] = struct{}{}
		}
	}
	return out
}

// wanted returns the persons whose facts the replay folds: those the
// decisions name (the plan's tasks) and their kin.
func (v *verifier) wanted(k *kin) map[uuid.UUID]struct{} {
	named := map[uuid.UUID]struct{}{}
	for _, ts := range v.tasks {
		for _, t := range ts {
			for _, p := range t.persons {
				// An id that does not parse names no row a fact makes
				// (their ids are UUIDs): it finds nothing either way.
				if id, err := uuid.Parse(p); err == nil {
					named[id] = struct{}{}
				}
			}
		}
	}
	return k.groupsOf(named)
}

// leaves reports whether the replay leaves the event out of its register:
// a registry fact naming none of the persons wanted, and no trigger
// (whose data the verification compares). Called by the readers, on
// every core: v.wanted and v.triggerAt are not written once the plan is
// over. buf is the caller's, for the persons named.
func (v *verifier) leaves(e *eventstore.RecordedEvent, buf *[]uuid.UUID) bool {
	if v.want == nil {
		return false
	}
	persons, ok := register.FactPersons(e, (*buf)[:0])
	*buf = persons
	if !ok || len(persons) == 0 {
		return false
	}
	for _, p := range persons {
		if _, ok := v.want[p]; ok {
			return false
		}
	}
	// Looked up last: few events are triggers, most are no facts.
	_, trigger := v.triggerAt[e.Position]
	return !trigger
}
