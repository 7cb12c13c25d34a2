// Package register folds life events into the register of persons. For now
// it is the index ingest validates against: who is known, born when, and
// whether dead.
package register

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// Index is an in-memory index of known persons, safe for concurrent use.
// Folding is idempotent, so an event applied twice (by ingest right after
// its append, then by a catch-up) changes nothing the second time.
type Index struct {
	mu      sync.RWMutex
	persons map[uuid.UUID]lifeevent.Known
}

var _ lifeevent.PersonLookup = (*Index)(nil)

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{persons: make(map[uuid.UUID]lifeevent.Known)}
}

// Person reports what is known about a person.
func (x *Index) Person(id uuid.UUID) (lifeevent.Known, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	k, ok := x.persons[id]
	return k, ok
}

func (x *Index) get(id uuid.UUID) (lifeevent.Known, bool) {
	k, ok := x.persons[id]
	return k, ok
}

func (x *Index) set(id uuid.UUID, k lifeevent.Known) { x.persons[id] = k }

// Len is the number of known persons.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.persons)
}

// Apply folds one stored event into the index. Events of other types are
// ignored; an error means a life event whose data cannot be decoded.
func (x *Index) Apply(e eventstore.RecordedEvent) error {
	if !folded(lifeevent.Type(e.Type)) {
		return nil
	}
	p, err := lifeevent.Decode(lifeevent.Type(e.Type), e.Data)
	if err != nil {
		return fmt.Errorf("register: event %s at %s: %w", e.ID, e.Stream, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	fold(p, x.get, x.set)
	return nil
}

// Rebuild reads the whole global log and folds every life event in it.
func (x *Index) Rebuild(ctx context.Context, store eventstore.Store) error {
	const page = 1000
	filter := eventstore.Filter{StreamPrefixes: []string{lifeevent.StreamPrefix}}
	var after eventstore.Position
	for {
		events, err := store.ReadAll(ctx, after, filter, page)
		if err != nil {
			return fmt.Errorf("register: rebuild after position %d: %w", after, err)
		}
		for _, e := range events {
			if err := x.Apply(e); err != nil {
				return err
			}
			after = e.Position
		}
		if len(events) < page {
			return nil
		}
	}
}

func folded(t lifeevent.Type) bool {
	return t == lifeevent.PersonRegistered || t == lifeevent.BirthRegistered || t == lifeevent.DeathRegistered
}

// fold applies one life event's payload to the persons read through get,
// writing changes through set.
func fold(p lifeevent.Payload, get func(uuid.UUID) (lifeevent.Known, bool), set func(uuid.UUID, lifeevent.Known)) {
	switch d := p.(type) {
	case *lifeevent.PersonRegisteredData:
		k, _ := get(d.PersonID)
		k.BirthDate = d.BirthDate
		set(d.PersonID, k)
	case *lifeevent.BirthRegisteredData:
		k, _ := get(d.ChildID)
		k.BirthDate = d.BirthDate
		set(d.ChildID, k)
	case *lifeevent.DeathRegisteredData:
		// Only a known person can have died: validation guarantees it, and
		// marking an unknown id would make it look known.
		if k, ok := get(d.PersonID); ok {
			k.Dead = true
			set(d.PersonID, k)
		}
	}
}
