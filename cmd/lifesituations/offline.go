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
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
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

// offlineLog is a stopped server's log as an offline command reads it:
// through the decorator that opens personal fields (the application's view,
// what every read model folds), with the embedded store under it (Raw) for
// what only it can do, such as checking its hash chain over the stored,
// sealed bytes. Close closes both and the key store.
type offlineLog struct {
	*sealed.Store
	Raw *embedded.Store
}

// open opens the store, one process at a time: it waits --lock-wait for a
// running server to release it.
func (o offlineStore) open() (offlineLog, error) { return o.openLog(false) }

// read opens the store for reading only (verification, rebuilds of the
// read models): nothing in the log or the key store is written, not even
// a compaction that a store a server has just left would start.
func (o offlineStore) read() (offlineLog, error) { return o.openLog(true) }

func (o offlineStore) openLog(readOnly bool) (offlineLog, error) {
	if _, err := os.Stat(*o.data); err != nil {
		return offlineLog{}, fmt.Errorf("data directory: %w", err)
	}
	opts := []embedded.Option{embedded.WithLockTimeout(*o.lockWait)}
	var keyOpts []keystore.Option
	if readOnly {
		opts = append(opts, embedded.ReadOnly())
		keyOpts = append(keyOpts, keystore.ReadOnly())
	}
	s, err := embedded.Open(*o.data, opts...)
	if err != nil {
		return offlineLog{}, fmt.Errorf("open the log in %s (stop the server first: one process at a time): %w", *o.data, err)
	}
	keys, err := keystore.OpenIn(*o.data, keyOpts...)
	if err != nil {
		return offlineLog{}, errors.Join(err, s.Close())
	}
	return offlineLog{Store: sealed.New(s, keys), Raw: s}, nil
}
