package main

import (
	"context"
	"os"
	"strings"
	"syscall"

	"lifesituations/domain/eventstore"
)

// faultKillAfterAppend is a testing knob: when this environment variable
// names a stream prefix, the process kills itself with SIGKILL right after
// the first append of new events to such a stream is durable, before
// anything downstream (projections, checkpoints) has caught up. Tests use it
// to crash the server between a saga's decision and its projection.
const faultKillAfterAppend = "LIFESITUATIONS_FAULT_KILL_AFTER_APPEND"

// withFaults wraps the store when a fault is asked for.
func withFaults(s eventstore.Store) eventstore.Store {
	prefix := os.Getenv(faultKillAfterAppend)
	if prefix == "" {
		return s
	}
	return killAfterAppend{Store: s, prefix: prefix}
}

type killAfterAppend struct {
	eventstore.Store
	prefix string
}

func (k killAfterAppend) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	res, err := k.Store.Append(ctx, stream, expected, events...)
	if err == nil && strings.HasPrefix(stream, k.prefix) && res.Duplicates < len(events) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	return res, err
}

func (k killAfterAppend) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	res, err := k.Store.AppendMany(ctx, appends)
	if err == nil {
		for i, a := range appends {
			if strings.HasPrefix(a.Stream, k.prefix) && res[i].Duplicates < len(a.Events) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	return res, err
}

// Sync is the store's, when it defers syncs: the sagas then defer theirs
// under the fault too, and a kill may come before their sync.
func (k killAfterAppend) Sync(ctx context.Context) error { return eventstore.Sync(ctx, k.Store) }
