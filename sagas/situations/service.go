// Package situations runs the life-situation sagas: it opens a situation
// when a registry or calendar event triggers one, records every step's
// decision in one batch, and executes the commands of citizens, agencies and
// timers against a situation's stream with optimistic concurrency.
package situations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// Register is what the sagas read of the register projection.
type Register interface {
	// WaitFor blocks until the register has folded the log up to pos.
	WaitFor(ctx context.Context, pos eventstore.Position) error
	Position() eventstore.Position
	Person(id string) (catalogue.Person, bool)
	// Family is the person with their parents, children and spouses.
	Family(id string) map[string]catalogue.Person
	// DraftsOf lists the drafts person is the applicant of that still
	// wait: open, or submitted and not decided.
	DraftsOf(person string) []situation.DraftRef
	// StandingGrants lists the grants of a service allowing opt-out that
	// person holds (as applicant or beneficiary) and that are not withdrawn.
	StandingGrants(person, service string) []situation.GrantRef
}

// Service decides and records.
type Service struct {
	store    eventstore.Store
	cat      *catalogue.Catalogue
	register Register
	clock    clock.Clock
	log      *slog.Logger
	// written is, per person, the last position at which this service
	// appended events that change the person's register facts: a decision
	// waits for the register to fold the writes of the persons it reads,
	// so that a grant just made counts as "granted before" for the next
	// one (see wait.go).
	written writes
}

// Config of a Service.
type Config struct {
	Store     eventstore.Store
	Catalogue *catalogue.Catalogue
	Register  Register
	Clock     clock.Clock
	Logger    *slog.Logger
}

// NewService checks the configuration.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Catalogue == nil || cfg.Register == nil || cfg.Clock == nil {
		return nil, errors.New("situations: store, catalogue, register and clock are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: cfg.Store, cat: cfg.Catalogue, register: cfg.Register, clock: cfg.Clock, log: cfg.Logger}, nil
}

// ValidationError lists invalid corrections of a draft's fields.
type ValidationError struct {
	Errors []catalogue.FieldError
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%d invalid field(s): %s", len(e.Errors), e.Errors[0].Detail)
}

// loaded is a situation folded from its stream.
type loaded struct {
	state    *situation.State
	revision eventstore.Revision
	position eventstore.Position // of the stream's last event
}

func (s *Service) load(ctx context.Context, id uuid.UUID) (*loaded, error) {
	l := &loaded{state: &situation.State{}}
	stream := situation.Stream(id)
	var from eventstore.Revision
	for {
		evs, err := s.store.ReadStream(ctx, stream, from, eventstore.Forwards, 1000)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, fmt.Errorf("situation %s: %w", id, situation.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", stream, err)
		}
		for _, e := range evs {
			if err := l.state.Apply(e.Type, e.Data); err != nil {
				return nil, fmt.Errorf("fold %s at revision %d: %w", stream, e.Revision, err)
			}
			l.revision, l.position = e.Revision, e.Position
		}
		if len(evs) < 1000 {
			return l, nil
		}
		from = l.revision + 1
	}
}

// execute loads a situation, runs a command on it and appends what the
// command records with the stream's revision as the expectation, retrying
// when another writer got there first. A command that records nothing
// answers the stream's current position.
func (s *Service) execute(ctx context.Context, id uuid.UUID, actor string, cmd func(*situation.State, time.Time) ([]situation.Record, error)) (eventstore.Position, error) {
	const attempts = 8
	for range attempts {
		l, err := s.load(ctx, id)
		if err != nil {
			return 0, err
		}
		recs, err := cmd(l.state, s.clock.Now())
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			return l.position, nil
		}
		meta := eventstore.Metadata{
			OccurredAt:       s.clock.Now(),
			CorrelationID:    l.state.Opened.Trigger.EventID.String(),
			Actor:            actor,
			CatalogueVersion: l.state.Opened.CatalogueVersion,
		}
		events, err := toEvents(recs, meta)
		if err != nil {
			return 0, err
		}
		res, err := s.store.Append(ctx, situation.Stream(id), eventstore.Exact(l.revision), events...)
		if errors.Is(err, eventstore.ErrWrongExpectedRevision) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("append to situation %s: %w", id, err)
		}
		s.wrote(res.Position, touched(l.state, recs)...)
		return res.Position, nil
	}
	return 0, fmt.Errorf("situation %s: still conflicting after %d attempts: %w", id, attempts, situation.ErrConflict)
}

// toEvents turns command records into events: every record caused by the
// same command shares its metadata.
func toEvents(recs []situation.Record, meta eventstore.Metadata) ([]eventstore.Event, error) {
	events := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.Type, err)
		}
		events[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data, Metadata: meta}
	}
	return events, nil
}
