// Package storetest is the contract every eventstore.Store implementation
// passes. An implementation runs it from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (eventstore.Store, func(*testing.T) eventstore.Store) {
//			dir := t.TempDir()
//			open := func(t *testing.T) eventstore.Store { ... open the store in dir ... }
//			return open(t), open
//		})
//	}
//
// Each subtest uses streams of its own and positions relative to the last
// position at its start, so a store may already hold events; but nothing
// else may append to it while a subtest runs, since the subtests check the
// global log.
//
// Where the port's doc leaves room, the suite holds a store to this:
//   - a failed expectation returns a *WrongExpectedRevisionError naming the
//     stream and its actual state;
//   - ReadStream backwards from a revision past the end starts at the last
//     event (so a caller reads the last events without knowing the
//     revision); forwards from past the end returns no event and no error;
//   - an empty stream name is refused;
//   - a subscription ended by its handler returns the handler's error, and
//     one ended by Close returns eventstore.ErrClosed;
//   - appending to a closed store returns eventstore.ErrClosed.
//
// A bug that makes a subscription miss an event shows as a subtest that
// never ends (the suite waits for events, it does not time them): run it
// with go test's -timeout, whose report names the subtest.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"lifesituations/domain/eventstore"
)

// Opener opens the store under test for one subtest. reopen opens the same
// underlying store again, after the subtest has closed the one it was given,
// to check that a close loses nothing. The suite closes every store it gets.
type Opener func(t *testing.T) (store eventstore.Store, reopen func(t *testing.T) eventstore.Store)

// Option adapts the suite to what the port lets a store do differently.
type Option func(*suite)

// AppendManyInOrder declares a store that writes an AppendMany stream by
// stream and may leave a prefix written when one fails, as the port allows
// a store without multi-stream transactions. The suite then checks only
// that a failure on the first stream writes nothing.
func AppendManyInOrder() Option { return func(s *suite) { s.appendManyInOrder = true } }

type suite struct {
	open              Opener
	appendManyInOrder bool
}

// Run runs the contract against the stores open returns.
func Run(t *testing.T, open Opener, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *fixture)
	}{
		{"RoundTrip", testRoundTrip},
		{"InvalidStream", testInvalidStream},
		{"ExpectedRevision", testExpectedRevision},
		{"Idempotency", testIdempotency},
		{"GlobalOrder", testGlobalOrder},
		{"AppendMany", s.testAppendMany},
		{"ReadStream", testReadStream},
		{"ReadAllFilter", testReadAllFilter},
		{"ConcurrentDistinctStreams", testConcurrentDistinctStreams},
		{"ConcurrentExactRace", testConcurrentExactRace},
		{"ConcurrentSameStreamAny", testConcurrentSameStreamAny},
		{"SubscribeCatchUpThenLive", testSubscribeCatchUpThenLive},
		{"SubscribeFilter", testSubscribeFilter},
		{"SubscribeFromMiddle", testSubscribeFromMiddle},
		{"SubscribeStops", testSubscribeStops},
		{"Reopen", testReopen},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, s.fixture(t)) })
	}
}

// fixture is one subtest's store, context and stream namespace.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  eventstore.Store
	closed bool
	reopen func(*testing.T) eventstore.Store
	// base is the last position before the subtest appended anything.
	base eventstore.Position
	// prefix makes the subtest's stream names its own.
	prefix string
}

func (s *suite) fixture(t *testing.T) *fixture {
	t.Helper()
	store, reopen := s.open(t)
	var id [4]byte
	_, _ = rand.Read(id[:])
	f := &fixture{t: t, ctx: t.Context(), store: store, reopen: reopen, prefix: "st" + hex.EncodeToString(id[:]) + "-"}
	t.Cleanup(func() {
		if !f.closed {
			if err := f.store.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	f.base = f.lastPosition()
	return f
}

// closeStore closes the store; the next reopenStore opens it again.
func (f *fixture) closeStore() {
	f.t.Helper()
	f.closed = true
	if err := f.store.Close(); err != nil {
		f.t.Fatalf("close store: %v", err)
	}
}

func (f *fixture) reopenStore() {
	f.t.Helper()
	if !f.closed {
		f.t.Fatal("reopenStore: store still open")
	}
	f.store = f.reopen(f.t)
	f.closed = false
}
