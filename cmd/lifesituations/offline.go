package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"lifesituations/adapters/eventstore/embedded"
)

// subcommand is one command of a group (audit verify, projections rebuild).
type subcommand func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// dispatch runs the command of group named by args[0], printing the
// group's usage for help and, on stderr, with an error for a missing or
// unknown command.
func dispatch(ctx context.Context, group, usage string, commands map[string]subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New(group + ": which command?")
	}
	if run, ok := commands[args[0]]; ok {
		return run(ctx, args[1:], stdout, stderr)
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%s: unknown command %q", group, args[0])
	}
}

// offlineStore is the flags of an offline command that opens the embedded
// store of a stopped server.
type offlineStore struct {
	data     *string
	lockWait *time.Duration
}

func offlineStoreFlags(fs *flag.FlagSet) offlineStore {
	return offlineStore{
		data:     fs.String("data", "./data", "data directory of the embedded store"),
		lockWait: fs.Duration("lock-wait", 5*time.Second, "how long to wait for a running server to release the store"),
	}
}

// open opens the store, one process at a time: it waits --lock-wait for a
// running server to release it.
func (o offlineStore) open() (*embedded.Store, error) {
	if _, err := os.Stat(*o.data); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s, err := embedded.Open(*o.data, embedded.WithLockTimeout(*o.lockWait))
	if err != nil {
		return nil, fmt.Errorf("open the log in %s (stop the server first: one process at a time): %w", *o.data, err)
	}
	return s, nil
}
