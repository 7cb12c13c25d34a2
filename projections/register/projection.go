package register

import (
	"context"
	"errors"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// ErrClosed: the projection has been closed.
var ErrClosed = errors.New("register projection closed")

// Projection is the register of persons folded from the global log into a
// bbolt file: the facts decisions read, a birthday index for the calendar,
// and the checkpoint, all written in the same transactions so that a
// restart neither loses nor doubles an event. Reads are safe for concurrent
// use with the fold.
type Projection struct {
	// model is the file, the position folded and the writes pending
	// behind the readers.
	model *derived.Model
}

// Option configures OpenProjection.
type Option func(*options)

type options struct{ commitEvery time.Duration }

// WithCommitEvery sets how long folded batches, visible at once, wait for
// their commit to the file (derived.CommitEvery by default): longer shares
// more of the file's pages among them, and leaves more to fold again after
// a crash.
func WithCommitEvery(d time.Duration) Option {
	return func(o *options) { o.commitEvery = d }
}

// OpenProjection opens (creating if needed) the register file at path. Its
// commits are not synced one by one; see projections/derived for why that is
// safe and when it deletes the file to have it folded again.
func OpenProjection(path string, opts ...Option) (*Projection, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m, err := derived.OpenModel("register", path, fileLayout, o.commitEvery, ErrClosed)
	if err != nil {
		return nil, err
	}
	return &Projection{model: m}, nil
}

// Commits is what the fold's commits to the file have cost so far.
func (p *Projection) Commits() derived.Commits { return p.model.Commits() }

// Position is the log position the register has folded up to.
func (p *Projection) Position() eventstore.Position { return p.model.Position() }

// WaitFor blocks until the register has folded the log up to pos, ctx is
// done, or the projection is closed. It does not need Run to be running
// when called (the server may start them in any order), but it fails when
// Run has stopped on an error.
func (p *Projection) WaitFor(ctx context.Context, pos eventstore.Position) error {
	return p.model.WaitFor(ctx, pos)
}

// read runs fn with a view of the file under the pending writes.
func (p *Projection) read(fn func(v *derived.View) error) error { return p.model.Read(fn) }

// Close commits the pending writes, syncs and closes the file (and removes
// its marker, see projections/derived). Stop Run (cancel its context)
// first; waiters are released with ErrClosed.
func (p *Projection) Close() error { return p.model.Close() }
