// Package entries indexes the registry entries that grants made: which
// grant of which situation made the entry (registry, entry id), so that an
// agency verifying an entry (GET /v1/registries/{registry}/entries/{id})
// finds the grant without knowing whose it is. The grant itself (its
// status, details, dates) is the cabinet's.
//
// The index lives in memory and is rebuilt from the log at each start:
// about a hundred bytes per grant.
package entries

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/follow"
)

// Entry is a registry entry a grant made.
type Entry struct {
	Registry  string
	EntryID   uuid.UUID
	GrantID   uuid.UUID
	Situation uuid.UUID
	// Position is where the grant is in the log: the cabinet shows the
	// grant once it has folded up to it.
	Position eventstore.Position
}

// Index is the index of entries. Lookups are safe for concurrent use with
// the fold.
type Index struct {
	*follow.Log
	store eventstore.Store

	mu      sync.RWMutex
	entries map[uuid.UUID]ref
	// registries interns registry names: a few dozen for millions of entries.
	registries map[string]string
}

type ref struct {
	registry  string
	grant     uuid.UUID
	situation uuid.UUID
	position  eventstore.Position
}

// New returns an empty index; Run folds the log of store into it.
func New(store eventstore.Store) *Index {
	x := &Index{store: store, entries: map[uuid.UUID]ref{}, registries: map[string]string{}}
	x.Log = follow.New("registry entries", x.apply)
	return x
}

// Run folds the log from its start, then follows it, until ctx is done
// (nil) or folding fails.
func (x *Index) Run(ctx context.Context) error { return x.Log.Run(ctx, x.store) }

// Lookup finds the entry id in registry; false when no grant made it.
func (x *Index) Lookup(registry string, id uuid.UUID) (Entry, bool) {
	x.mu.RLock()
	r, ok := x.entries[id]
	x.mu.RUnlock()
	if !ok || r.registry != registry {
		return Entry{}, false
	}
	return Entry{Registry: r.registry, EntryID: id, GrantID: r.grant, Situation: r.situation, Position: r.position}, true
}

// granted is the part of situation.StepDecided and
// situation.ApplicationDecided the index reads.
type granted struct {
	SituationID uuid.UUID         `json:"situation_id"`
	GrantID     uuid.UUID         `json:"grant_id"`
	EntryID     uuid.UUID         `json:"entry_id"`
	Outcome     catalogue.Outcome `json:"outcome"`  // application.decided
	Registry    string            `json:"registry"` // application.decided
	Decision    struct {
		Outcome  catalogue.Outcome `json:"outcome"`
		Registry string            `json:"registry"`
	} `json:"decision"` // step_decided
}

func (x *Index) apply(e eventstore.RecordedEvent) error {
	if !strings.HasPrefix(e.Stream, situation.StreamPrefix) ||
		(e.Type != situation.TypeStepDecided && e.Type != situation.TypeApplicationDecided) {
		return nil
	}
	var g granted
	if err := json.Unmarshal(e.Data, &g); err != nil {
		return fmt.Errorf("decode %s: %w", e.Type, err)
	}
	if e.Type == situation.TypeStepDecided {
		g.Outcome, g.Registry = g.Decision.Outcome, g.Decision.Registry
	}
	if g.Outcome != catalogue.OutcomeGranted || g.EntryID == uuid.Nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	name, ok := x.registries[g.Registry]
	if !ok {
		name = g.Registry
		x.registries[name] = name
	}
	x.entries[g.EntryID] = ref{registry: name, grant: g.GrantID, situation: g.SituationID, position: e.Position}
	return nil
}
