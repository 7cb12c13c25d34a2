// Package eventstore defines the event-store port: the semantics every store
// implementation (embedded, EventStoreDB) provides, chosen to map one-to-one
// onto EventStoreDB so that the system can move between them.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Revision is a stream's revision: the 0-based index of an event in its stream.
type Revision = uint64

// Position is an event's place in the global log. Positions start at 1 and
// grow by one per stored event; 0 means "before the first event".
type Position = uint64

// ExpectedRevision states what the appender believes about the stream.
// Use Any, NoStream, StreamExists or Exact(n).
type ExpectedRevision struct {
	kind expectKind
	rev  Revision
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectExists
	expectExact
)

var (
	// Any accepts whatever state the stream is in.
	Any = ExpectedRevision{kind: expectAny}
	// NoStream requires the stream to have no event yet.
	NoStream = ExpectedRevision{kind: expectNoStream}
	// StreamExists requires the stream to hold at least one event.
	StreamExists = ExpectedRevision{kind: expectExists}
)

// Exact requires the stream's last revision to be rev.
func Exact(rev Revision) ExpectedRevision { return ExpectedRevision{kind: expectExact, rev: rev} }

// Matches reports whether a stream whose last revision is last (exists=false
// when the stream is empty) satisfies the expectation.
func (e ExpectedRevision) Matches(last Revision, exists bool) bool {
	switch e.kind {
	case expectAny:
		return true
	case expectNoStream:
		return !exists
	case expectExists:
		return exists
	default:
		return exists && last == e.rev
	}
}

// IsAny reports whether the expectation is Any.
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether the expectation is NoStream.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether the expectation is StreamExists.
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectExists }

// ExactRevision returns the exact revision expected and true, or false when
// the expectation is not Exact.
func (e ExpectedRevision) ExactRevision() (Revision, bool) { return e.rev, e.kind == expectExact }

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectAny:
		return "any"
	case expectNoStream:
		return "no stream"
	case expectExists:
		return "stream exists"
	default:
		return fmt.Sprintf("revision %d", e.rev)
	}
}

// Metadata travels with every event. OccurredAt is business time (when the
// fact happened in the world); RecordedAt is set by the store when it stores
// the event.
type Metadata struct {
	OccurredAt       time.Time `json:"occurred_at"`
	RecordedAt       time.Time `json:"recorded_at"`
	Source           string    `json:"source,omitempty"`
	SourceEventID    string    `json:"source_event_id,omitempty"`
	CorrelationID    string    `json:"correlation_id,omitempty"`
	CausationID      string    `json:"causation_id,omitempty"`
	Actor            string    `json:"actor,omitempty"`
	CatalogueVersion string    `json:"catalogue_version,omitempty"`
	// Extra carries any other metadata (for example a Watermill message's)
	// through the store unchanged.
	Extra map[string]string `json:"extra,omitempty"`
}

// Event is an event to append.
type Event struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
}

// RecordedEvent is an event as stored.
type RecordedEvent struct {
	Event
	Stream   string
	Revision Revision
	Position Position
}

// AppendResult tells where an append left the stream.
type AppendResult struct {
	// NextRevision is the stream's last revision after the append.
	NextRevision Revision
	// Position is the global position of the last event written, or of the
	// last duplicate when nothing new was written.
	Position Position
	// Duplicates counts events whose id was already stored; they were not
	// written again.
	Duplicates int
}

// StreamAppend is one stream's part of a multi-stream append.
type StreamAppend struct {
	Stream   string
	Expected ExpectedRevision
	Events   []Event
}

// Filter selects events of a subscription or read. An empty filter selects
// everything; otherwise an event passes when its stream starts with one of
// StreamPrefixes (if any are given) and its type starts with one of
// TypePrefixes (if any are given).
type Filter struct {
	StreamPrefixes []string
	TypePrefixes   []string
}

// Direction of a stream read.
type Direction uint8

const (
	Forwards Direction = iota
	Backwards
)

var (
	// ErrWrongExpectedRevision: the stream was not in the expected state;
	// nothing was written. Wrapped in a *WrongExpectedRevisionError.
	ErrWrongExpectedRevision = errors.New("wrong expected revision")
	// ErrStreamNotFound: reading a stream that has no event.
	ErrStreamNotFound = errors.New("stream not found")
	// ErrOverloaded: the store's append queue is full; try again later.
	// Nothing was written.
	ErrOverloaded = errors.New("event store overloaded")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("event store closed")
)

// WrongExpectedRevisionError carries the detail of a conflict.
type WrongExpectedRevisionError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the stream's last revision; meaningless when !Exists.
	Actual Revision
	Exists bool
}

func (e *WrongExpectedRevisionError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("append to %s: expected %s, stream is at %s: %v", e.Stream, e.Expected, actual, ErrWrongExpectedRevision)
}

func (e *WrongExpectedRevisionError) Unwrap() error { return ErrWrongExpectedRevision }

// Store is the event-store port.
//
// Appends are idempotent by event id: an event whose id is already stored is
// not written again and is counted in AppendResult.Duplicates. When every
// event of an append is already stored the append succeeds as a no-op
// whatever the expectation, so a retried decision never conflicts with
// itself. Otherwise the expectation is checked against the stream and, when
// it holds, the new events are written; nothing is written when it fails.
// Append returns only once the events are durable.
type Store interface {
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...Event) (AppendResult, error)
	// AppendMany appends to several streams. The embedded store writes all
	// of them in one transaction; a store that cannot (EventStoreDB) writes
	// them in order and may leave a prefix written when it fails, which is
	// safe because a retry is idempotent.
	AppendMany(ctx context.Context, appends []StreamAppend) ([]AppendResult, error)
	// ReadStream reads up to max events of a stream starting at revision
	// from (inclusive) in the given direction. It returns ErrStreamNotFound
	// for a stream with no event.
	ReadStream(ctx context.Context, stream string, from Revision, dir Direction, max int) ([]RecordedEvent, error)
	// ReadAll reads up to max events of the global log with position
	// greater than after, in log order, that pass the filter.
	ReadAll(ctx context.Context, after Position, filter Filter, max int) ([]RecordedEvent, error)
	// SubscribeAll delivers every event with position greater than after
	// that passes the filter, in log order: first those already stored,
	// then live ones as they are appended, with no gap and no repeat. It
	// stops when ctx is done or the store closes, returning the reason.
	SubscribeAll(ctx context.Context, after Position, filter Filter, handle func(RecordedEvent) error) error
	// LastPosition is the position of the last stored event (0 if none).
	LastPosition(ctx context.Context) (Position, error)
	Close() error
}

// Match reports whether the filter selects an event of that stream and type.
func (f Filter) Match(stream, eventType string) bool {
	return matchPrefix(f.StreamPrefixes, stream) && matchPrefix(f.TypePrefixes, eventType)
}

func matchPrefix(prefixes []string, s string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
