package embedded

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"lifesituations/adapters/systemclock"
	"lifesituations/domain/clock"
)

// Option configures Open.
type Option func(*config)

type config struct {
	clock       clock.Clock
	queueSize   int
	maxBatch    int
	lockTimeout time.Duration
	readOnly    bool
	// tailEvents and tailBytes bound the recent events kept decoded for
	// subscriptions (tail.go); tests make them small.
	tailEvents, tailBytes int

	// beforeBatch, when set, runs in the writer before it takes each batch;
	// tests use it to hold the writer and fill the queue. beforeSync runs
	// before it syncs deferred appends on its own (not for a Sync).
	beforeBatch, beforeSync func()
	// fs, when set, is the file system Pebble writes through; tests wrap
	// it to make a sync fail.
	fs vfs.FS
}

const (
	// DefaultQueueSize bounds the events waiting to be committed.
	DefaultQueueSize = 16384
	// DefaultMaxBatch bounds the events committed in one batch.
	DefaultMaxBatch = 4096
)

func defaultConfig() config {
	return config{
		clock:       systemclock.Clock{},
		queueSize:   DefaultQueueSize,
		maxBatch:    DefaultMaxBatch,
		lockTimeout: 5 * time.Second,
		tailEvents:  tailEvents,
		tailBytes:   tailBytes,
	}
}

func (c config) validate() error {
	switch {
	case c.clock == nil:
		return fmt.Errorf("clock is nil")
	case c.queueSize <= 0:
		return fmt.Errorf("queue size %d, want > 0", c.queueSize)
	case c.maxBatch <= 0:
		return fmt.Errorf("max batch %d, want > 0", c.maxBatch)
	case c.tailEvents <= 0 || c.tailBytes <= 0:
		return fmt.Errorf("tail of %d events, %d bytes, want > 0", c.tailEvents, c.tailBytes)
	}
	return nil
}

// WithClock sets the clock that stamps Metadata.RecordedAt at commit.
// The default is the system clock.
func WithClock(c clock.Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithQueueSize bounds the number of events waiting to be committed
// (including those being committed). An append that would exceed it fails at
// once with eventstore.ErrOverloaded; an append larger than the bound is
// accepted only when nothing is waiting, so that it can ever succeed.
func WithQueueSize(events int) Option { return func(cfg *config) { cfg.queueSize = events } }

// WithMaxBatch bounds the events the writer commits in one synced batch.
// One append is never split: a larger one is committed alone.
func WithMaxBatch(events int) Option { return func(cfg *config) { cfg.maxBatch = events } }

// WithLockTimeout bounds the wait for the lock of the events directory, held
// by another process (or store) that has it open. The default is 5 s.
func WithLockTimeout(d time.Duration) Option { return func(cfg *config) { cfg.lockTimeout = d } }

// ReadOnly opens an existing store for reading only, as an auditor reads
// a stopped server's log: appends fail with ErrReadOnly, and nothing in the
// directory is written (but the lock file), not even a compaction.
func ReadOnly() Option { return func(cfg *config) { cfg.readOnly = true } }
