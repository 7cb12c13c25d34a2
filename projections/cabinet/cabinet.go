// Package cabinet is the citizen's read model: drafts, grants, situations
// and notifications folded from the situation streams of the global log
// into a bbolt file, with the checkpoint written in the same transactions
// as the rows, so that a restart neither loses nor doubles an event.
package cabinet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

var (
	// ErrNotFound: no such draft, grant or situation, or none the person
	// may see.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the cabinet has been closed.
	ErrClosed = errors.New("cabinet closed")
)

// Cabinet is the read model. Queries are safe for concurrent use with the
// fold.
type Cabinet struct {
	// model is the file, the position folded and the writes pending
	// behind the readers.
	model *derived.Model

	family Family
	clock  clock.Clock

	commitEvery time.Duration
	// cache keeps recently folded situations for the next batches; only
	// the fold uses it.
	cache *foldCache
}

// Option configures Open.
type Option func(*Cabinet)

// WithFamily lets parents see the grants of their children who are under
// 18 on the clock's date. Without it nobody sees another person's grants.
func WithFamily(f Family, c clock.Clock) Option {
	return func(cab *Cabinet) { cab.family, cab.clock = f, c }
}

// WithCommitEvery sets how long folded batches, visible at once, wait for
// their commit to the file (derived.CommitEvery by default): longer shares
// more of the file's pages among them, and leaves more to fold again after
// a crash.
func WithCommitEvery(d time.Duration) Option {
	return func(cab *Cabinet) { cab.commitEvery = d }
}

// Open opens (creating if needed) the cabinet file at path. Its commits
// are not synced one by one; see projections/derived for why that is safe and
// when Open deletes the file to have it folded again.
func Open(path string, opts ...Option) (*Cabinet, error) {
	c := &Cabinet{cache: newFoldCache(cachedSituations)}
	for _, o := range opts {
		o(c)
	}
	if (c.family == nil) != (c.clock == nil) {
		return nil, fmt.Errorf("open cabinet %s: a family needs a clock to tell minors", path)
	}
	m, err := derived.OpenModel("cabinet", path, fileLayout, c.commitEvery, ErrClosed)
	if err != nil {
		return nil, err
	}
	c.model = m
	return c, nil
}

// Commits is what the fold's commits to the file have cost so far.
func (c *Cabinet) Commits() derived.Commits { return c.model.Commits() }

// Position is the log position the cabinet has folded up to.
func (c *Cabinet) Position() eventstore.Position { return c.model.Position() }

// WaitFor blocks until the cabinet has folded the log up to pos, ctx is
// done, or the cabinet is closed. It does not need Run to be running when
// called, but it fails when Run has stopped on an error.
func (c *Cabinet) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return c.model.WaitFor(ctx, pos)
}

// read runs fn with a view of the file under the pending writes.
func (c *Cabinet) read(fn func(v *derived.View) error) error { return c.model.Read(fn) }

// Close commits the pending writes, syncs and closes the file (and
// removes its marker, see projections/derived). Stop Run (cancel its
// context) first; waiters are released with ErrClosed.
func (c *Cabinet) Close() error { return c.model.Close() }
