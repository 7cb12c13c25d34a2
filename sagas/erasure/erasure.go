// Package erasure erases a person's personal data on a lawful request, with
// four eyes: one principal requests it (erasure.requested in the stream
// erasure-<request id>), another approves it. Approving deletes the
// person's key (domain/personaldata: their sealed fields then read as
// erased everywhere) and then appends erasure.approved to the request's
// stream and person.erased to the person's stream, in one append, so the
// erasure is itself in the log: who asked, who approved, when, why; never
// what was erased.
//
// The key goes first: a crash between the two leaves the data erased and
// the record missing, and approving again (the same request) writes the
// record; the other order could leave a record of an erasure that did not
// happen.
package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/personaldata"
)

// Event types and stream of a request.
const (
	TypeRequested = "erasure.requested"
	TypeApproved  = "erasure.approved"
	StreamPrefix  = "erasure-"
	// Source names the service in the metadata of what it appends.
	Source = "urn:lifesituations:erasure"
	// MaxReason bounds a reason's length, in characters.
	MaxReason = 2000
)

// Stream is a request's stream.
func Stream(id uuid.UUID) string { return StreamPrefix + id.String() }

// Statuses of a request.
const (
	StatusPending = "pending"
	StatusErased  = "erased"
)

// Request is an erasure request as it stands.
type Request struct {
	ID          uuid.UUID  `json:"id"`
	PersonID    string     `json:"person_id"`
	Reason      string     `json:"reason"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	Status      string     `json:"status"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	ErasedAt    *time.Time `json:"erased_at,omitempty"`
	// Position is where the erasure was recorded in the log (0 when not
	// recorded by this call): read models show it once they reach it.
	Position eventstore.Position `json:"-"`
}

// requested is the data of TypeRequested.
type requested struct {
	RequestID   uuid.UUID `json:"request_id"`
	PersonID    string    `json:"person_id"`
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
}

var (
	// ErrUnknownPerson: nothing of this person was ever sealed.
	ErrUnknownPerson = errors.New("unknown person")
	// ErrNotFound: no such request.
	ErrNotFound = errors.New("no such erasure request")
	// ErrSamePrincipal: the approver is the requester.
	ErrSamePrincipal = errors.New("an erasure must be approved by someone other than its requester")
	// ErrAlreadyErased: the person's key is gone already.
	ErrAlreadyErased = errors.New("the person is erased already")
)

// FieldError names an invalid input by its JSON name.
type FieldError struct {
	Field, Detail string
}

// InvalidError lists every invalid input.
type InvalidError struct{ Fields []FieldError }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return "invalid erasure request: " + strings.Join(parts, "; ")
}

// Service requests and approves erasures.
type Service struct {
	store eventstore.Store
	keys  personaldata.KeyStore
	clock clock.Clock
}

// New returns the service; store must be the application's (sealed) store
// and keys the key store it seals with.
func New(store eventstore.Store, keys personaldata.KeyStore, clk clock.Clock) *Service {
	return &Service{store: store, keys: keys, clock: clk}
}

// Validate checks a request's input: person a UUID, a reason, a requester.
func Validate(person, reason, by string) error {
	var errs []FieldError
	if _, err := uuid.Parse(person); err != nil {
		errs = append(errs, FieldError{"person_id", "must be a person's id (a UUID)"})
	}
	switch r := strings.TrimSpace(reason); {
	case r == "":
		errs = append(errs, FieldError{"reason", "is required: the lawful ground of the erasure (no personal data)"})
	case utf8.RuneCountInString(r) > MaxReason:
		errs = append(errs, FieldError{"reason", fmt.Sprintf("is at most %d characters", MaxReason)})
	}
	if strings.TrimSpace(by) == "" {
		errs = append(errs, FieldError{"requested_by", "is required"})
	}
	if errs != nil {
		return &InvalidError{Fields: errs}
	}
	return nil
}

// Request records a request to erase person.
func (s *Service) Request(ctx context.Context, person, reason, by string) (Request, error) {
	if err := Validate(person, reason, by); err != nil {
		return Request{}, err
	}
	person = uuid.MustParse(person).String() // canonical, as in stream names
	k, err := s.keys.Lookup(ctx, person)
	switch {
	case errors.Is(err, personaldata.ErrNoKey):
		return Request{}, fmt.Errorf("erase %s: %w", person, ErrUnknownPerson)
	case err != nil:
		return Request{}, fmt.Errorf("erase %s: %w", person, err)
	case k.Erased:
		return Request{}, fmt.Errorf("erase %s: %w", person, ErrAlreadyErased)
	}
	now := s.clock.Now().UTC()
	id := uuid.New()
	r := requested{RequestID: id, PersonID: person, Reason: strings.TrimSpace(reason), RequestedBy: by, RequestedAt: now}
	data, err := json.Marshal(r)
	if err != nil {
		return Request{}, err
	}
	ev := eventstore.Event{ID: eventID(id, "requested"), Type: TypeRequested, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{OccurredAt: now, Source: Source, Actor: by, CorrelationID: id.String()}}
	if _, err := s.store.Append(ctx, Stream(id), eventstore.NoStream, ev); err != nil {
		return Request{}, fmt.Errorf("record the erasure request: %w", err)
	}
	return Request{ID: id, PersonID: person, Reason: r.Reason, RequestedBy: by, RequestedAt: now, Status: StatusPending}, nil
}

// Get reads a request.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Request, error) {
	evs, err := s.store.ReadStream(ctx, Stream(id), 0, eventstore.Forwards, 8)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(evs) == 0) {
		return Request{}, fmt.Errorf("erasure request %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("read erasure request %s: %w", id, err)
	}
	var out Request
	for _, e := range evs {
		switch e.Type {
		case TypeRequested:
			var r requested
			if err := json.Unmarshal(e.Data, &r); err != nil {
				return Request{}, fmt.Errorf("decode %s of %s: %w", e.Type, id, err)
			}
			out = Request{ID: r.RequestID, PersonID: r.PersonID, Reason: r.Reason, RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, Status: StatusPending}
		case TypeApproved:
			var a personaldata.Erased
			if err := json.Unmarshal(e.Data, &a); err != nil {
				return Request{}, fmt.Errorf("decode %s of %s: %w", e.Type, id, err)
			}
			at := a.ErasedAt
			out.Status, out.ApprovedBy, out.ErasedAt = StatusErased, a.ApprovedBy, &at
		}
	}
	if out.ID == uuid.Nil {
		return Request{}, fmt.Errorf("erasure request %s: %w", id, ErrNotFound)
	}
	return out, nil
}

// Approve carries out a pending request: deletes the key, then records the
// erasure. Approving an erased request again returns it unchanged (it also
// completes a record a crash left unwritten).
func (s *Service) Approve(ctx context.Context, id uuid.UUID, by string) (Request, error) {
	if strings.TrimSpace(by) == "" {
		return Request{}, &InvalidError{Fields: []FieldError{{"approved_by", "is required"}}}
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if r.Status == StatusErased {
		return r, nil
	}
	if by == r.RequestedBy {
		return Request{}, fmt.Errorf("approve erasure %s: %w", id, ErrSamePrincipal)
	}
	if err := s.keys.Erase(ctx, r.PersonID); err != nil {
		return Request{}, fmt.Errorf("approve erasure %s: delete the key: %w", id, err)
	}
	now := s.clock.Now().UTC()
	data, err := json.Marshal(personaldata.Erased{
		PersonID: r.PersonID, RequestID: id.String(), Reason: r.Reason,
		RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt, ApprovedBy: by, ErasedAt: now,
	})
	if err != nil {
		return Request{}, err
	}
	md := eventstore.Metadata{OccurredAt: now, Source: Source, Actor: by, CorrelationID: id.String(), CausationID: eventID(id, "requested").String()}
	res, err := s.store.AppendMany(ctx, []eventstore.StreamAppend{
		{Stream: Stream(id), Expected: eventstore.Exact(0), Events: []eventstore.Event{
			{ID: eventID(id, "approved"), Type: TypeApproved, SchemaVersion: 1, Data: data, Metadata: md}}},
		{Stream: lifeevent.StreamPrefix + r.PersonID, Expected: eventstore.Any, Events: []eventstore.Event{
			{ID: eventID(id, "erased"), Type: personaldata.TypeErased, SchemaVersion: 1, Data: data, Metadata: md}}},
	})
	if errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		return s.Get(ctx, id) // approved meanwhile by someone else
	}
	if err != nil {
		return Request{}, fmt.Errorf("record erasure %s (the key is deleted; approve again to record it): %w", id, err)
	}
	r.Status, r.ApprovedBy, r.ErasedAt = StatusErased, by, &now
	r.Position = res[len(res)-1].Position
	return r, nil
}

// namespace roots the request's event ids, so that approving twice (or
// after a crash) appends each record once.
var namespace = uuid.MustParse("8a3f0e52-6c1d-5b7a-9e24-3d5c7b1f0a96")

func eventID(request uuid.UUID, what string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(request.String()+"/"+what))
}
