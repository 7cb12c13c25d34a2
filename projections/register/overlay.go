package register

import (
	"github.com/google/uuid"

	"lifesituations/domain/lifeevent"
)

// Overlay is a private view over a register: events folded into it are seen
// through the overlay only, never by the register beneath. A batch of events
// validates against an overlay so that a later event sees the persons an
// earlier one registered, before anything is stored. Not safe for concurrent
// use.
type Overlay struct {
	base    lifeevent.PersonLookup
	changed map[uuid.UUID]lifeevent.Known
}

var _ lifeevent.PersonLookup = (*Overlay)(nil)

// NewOverlay returns an overlay over base.
func NewOverlay(base lifeevent.PersonLookup) *Overlay {
	return &Overlay{base: base, changed: make(map[uuid.UUID]lifeevent.Known)}
}

// Person reports a person as the overlay sees them.
func (o *Overlay) Person(id uuid.UUID) (lifeevent.Known, bool) {
	if k, ok := o.changed[id]; ok {
		return k, true
	}
	return o.base.Person(id)
}

// Apply folds a validated payload into the overlay, with the register's rules.
func (o *Overlay) Apply(p lifeevent.Payload) {
	fold(p, o.Person, func(id uuid.UUID, k lifeevent.Known) { o.changed[id] = k })
}
