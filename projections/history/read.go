package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// ErrNotFound: no step, draft or grant has that id.
var ErrNotFound = errors.New("not found")

// Event is a stored event as an auditor sees it.
type Event struct {
	Position         eventstore.Position `json:"position"`
	ID               uuid.UUID           `json:"id"`
	Stream           string              `json:"stream"`
	Revision         eventstore.Revision `json:"revision"`
	Type             string              `json:"type"`
	Time             time.Time           `json:"time"`
	RecordedAt       time.Time           `json:"recorded_at"`
	CorrelationID    string              `json:"correlation_id"`
	CausationID      string              `json:"causation_id"`
	Source           string              `json:"source,omitempty"`
	SourceEventID    string              `json:"source_event_id,omitempty"`
	Actor            string              `json:"actor,omitempty"`
	CatalogueVersion string              `json:"catalogue_version,omitempty"`
	Data             json.RawMessage     `json:"data"`
}

// FromRecorded turns a stored event into its audit view.
func FromRecorded(e eventstore.RecordedEvent) Event {
	m := e.Metadata
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return Event{
		Position: e.Position, ID: e.ID, Stream: e.Stream, Revision: e.Revision, Type: e.Type,
		Time: m.OccurredAt, RecordedAt: m.RecordedAt, CorrelationID: m.CorrelationID, CausationID: m.CausationID,
		Source: m.Source, SourceEventID: m.SourceEventID, Actor: m.Actor, CatalogueVersion: m.CatalogueVersion,
		Data: data,
	}
}

// Reader answers from the store, with the index caught up before each
// answer.
type Reader struct {
	store eventstore.Store
	index *Index
}

// NewReader reads store through index.
func NewReader(store eventstore.Store, index *Index) *Reader {
	return &Reader{store: store, index: index}
}

// catchUp brings the index up to the end of the log and returns that end:
// the answer is as of it.
func (r *Reader) catchUp(ctx context.Context) (eventstore.Position, error) {
	last, err := r.store.LastPosition(ctx)
	if err != nil {
		return 0, err
	}
	return last, r.index.CatchUp(ctx, r.store, last)
}

// recordedBy reports whether e was recorded at or before asOf (zero: any).
func recordedBy(e eventstore.RecordedEvent, asOf time.Time) bool {
	return asOf.IsZero() || !e.Metadata.RecordedAt.After(asOf)
}

// readStream reads a whole stream (nothing when it has no event) up to
// position upTo.
func (r *Reader) readStream(ctx context.Context, stream string, upTo eventstore.Position, fn func(eventstore.RecordedEvent) error) error {
	const page = 1000
	var from eventstore.Revision
	for {
		evs, err := r.store.ReadStream(ctx, stream, from, eventstore.Forwards, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		for _, e := range evs {
			if e.Position > upTo {
				return nil
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(evs) < page {
			return nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}

// Events lists every stored event concerning person recorded at or before
// asOf (zero: all), in log order: the registry facts in their own stream
// and those naming them in other persons' streams, and every event of the
// situations they take part in.
func (r *Reader) Events(ctx context.Context, person uuid.UUID, asOf time.Time) ([]Event, eventstore.Position, error) {
	last, err := r.catchUp(ctx)
	if err != nil {
		return nil, 0, err
	}
	own, foreign, sits := r.index.Streams(person)
	var out []eventstore.RecordedEvent
	keep := func(e eventstore.RecordedEvent) error {
		if recordedBy(e, asOf) {
			out = append(out, e)
		}
		return nil
	}
	if err := r.readStream(ctx, own, last, keep); err != nil {
		return nil, 0, err
	}
	for _, stream := range foreign {
		err := r.readStream(ctx, stream, last, func(e eventstore.RecordedEvent) error {
			if names(e, person) {
				return keep(e)
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	for _, sit := range sits {
		if err := r.readStream(ctx, situation.Stream(sit), last, keep); err != nil {
			return nil, 0, err
		}
	}
	slices.SortFunc(out, func(a, b eventstore.RecordedEvent) int {
		switch {
		case a.Position < b.Position:
			return -1
		case a.Position > b.Position:
			return 1
		}
		return 0
	})
	views := make([]Event, 0, len(out))
	for i, e := range out {
		if i > 0 && out[i-1].Position == e.Position {
			continue
		}
		views = append(views, FromRecorded(e))
	}
	return views, last, nil
}

// names reports whether a life event names person.
func names(e eventstore.RecordedEvent, person uuid.UUID) bool {
	t := lifeevent.Type(e.Type)
	if !t.Known() {
		return false
	}
	p, err := lifeevent.Decode(t, e.Data)
	if err != nil {
		return false
	}
	return slices.Contains(p.Concerns(), person)
}

// State is what a person's cabinet held at a moment, folded again from the
// log.
type State struct {
	Person     uuid.UUID           `json:"person"`
	AsOf       time.Time           `json:"as_of,omitzero"`
	Position   eventstore.Position `json:"position"`
	Situations []cabinet.Situation `json:"situations"`
	Drafts     []cabinet.Draft     `json:"drafts"`
	Grants     []cabinet.Grant     `json:"grants"`
}

// State folds the situations person (and their children under 18 at
// asOf, whose grants a parent sees) take part in from the events recorded
// at or before asOf (zero: all), as the cabinet folds them, and returns
// what the person's cabinet listed then. children lists the person's
// children with their birth dates (from the register).
func (r *Reader) State(ctx context.Context, person uuid.UUID, asOf time.Time, children []cabinet.Child) (State, error) {
	last, err := r.catchUp(ctx)
	if err != nil {
		return State{}, err
	}
	at := asOf
	if at.IsZero() {
		at = time.Now()
	}
	sits := r.index.Situations(person)
	for _, ch := range children {
		if id, err := uuid.Parse(ch.ID); err == nil {
			for _, s := range r.index.Situations(id) {
				if !slices.Contains(sits, s) {
					sits = append(sits, s)
				}
			}
		}
	}
	replay := cabinet.NewReplay()
	for _, sit := range sits {
		err := r.readStream(ctx, situation.Stream(sit), last, func(e eventstore.RecordedEvent) error {
			if !recordedBy(e, asOf) {
				return nil
			}
			return replay.Apply(e)
		})
		if err != nil {
			return State{}, err
		}
	}
	st := State{Person: person, AsOf: asOf, Position: last}
	st.Situations, st.Drafts, st.Grants = replay.View(person.String(), children, at)
	return st, nil
}
