package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/register"
)

const projectionsUsage = `Usage:
  lifesituations projections rebuild [flags]   rebuild the read models from the log and switch to them

Run "lifesituations projections rebuild --help" for the flags.
`

func projectionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "projections", projectionsUsage, map[string]subcommand{"rebuild": projectionsRebuild}, args, stdout, stderr)
}

const projectionsRebuildSummary = `Rebuilds the read models of the data directory (register.db, the register of
persons, and cabinet.db, the citizens' cabinets) from the log into new files
beside them (*.rebuild), checks that each reached the log's last position,
and only then switches: each old file is renamed *.old and the new one takes
its name (an atomic rename), then the old one is removed unless --keep-old.
Until the switch the old files are untouched, so an interrupted rebuild
changes nothing (run it again).

The embedded store is opened by one process at a time: stop the server first
(the command waits --lock-wait for it). The saga checkpoints (checkpoints.db)
are not a read model and are left alone.

With --server URL (and --token, an operator's), a running server rebuilds
instead, while it keeps serving: every read model it serves (the register,
the cabinets, the registry entries index, the quality figures) is folded
from the log beside the one in use, caught up with the live log and switched
(POST /v1/ops/projections/rebuild); the command shows the progress (GET on
the same path) and exits non-zero if the rebuild fails.`

func projectionsRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("projections rebuild", projectionsRebuildSummary, stderr)
	offline := offlineStoreFlags(fs)
	data := offline.data
	only := oneOf{value: "all", allowed: []string{"all", "register", "cabinet"}}
	fs.Var(&only, "only", "which read model: all, register or cabinet")
	keepOld := fs.Bool("keep-old", false, "keep the replaced files as *.old")
	server := fs.String("server", "", "base URL of a running server to rebuild live (instead of --data)")
	token := fs.String("token", "", "operator token for --server")
	poll := fs.Duration("poll", 500*time.Millisecond, "with --server: how often to ask how the rebuild goes")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("projections rebuild: unexpected argument %q", fs.Arg(0))
	}
	if *server != "" {
		if only.value != "all" || *keepOld {
			return errors.New("projections rebuild: --only and --keep-old are for the offline rebuild, not --server")
		}
		return rebuildLive(ctx, *server, *token, *poll, stdout, stderr)
	}
	s, err := offline.read()
	if err != nil {
		return err
	}
	defer s.Close()
	last, err := s.LastPosition(ctx)
	if err != nil {
		return err
	}
	type model struct {
		file  string
		build func(ctx context.Context, path string, store eventstore.Store, last eventstore.Position) error
	}
	var models []model
	if only.value != "cabinet" {
		models = append(models, model{registerFile, rebuildRegister})
	}
	if only.value != "register" {
		models = append(models, model{cabinetFile, rebuildCabinet})
	}
	// Build every new file before switching any: the read models switch
	// together, at the same position.
	for _, m := range models {
		next := filepath.Join(*data, m.file+".rebuild")
		if err := os.Remove(next); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		start := time.Now()
		if err := m.build(ctx, next, s, last); err != nil {
			_ = os.Remove(next)
			return fmt.Errorf("rebuild %s: %w", m.file, err)
		}
		took := time.Since(start)
		fmt.Fprintf(stdout, "%s: folded %d events in %s (%.0f events/s)\n", m.file, last, took.Round(time.Millisecond), float64(last)/max(took.Seconds(), 1e-9))
	}
	for _, m := range models {
		path := filepath.Join(*data, m.file)
		old := path + ".old"
		if err := os.Rename(path, old); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("switch %s: %w", m.file, err)
		}
		if err := os.Rename(path+".rebuild", path); err != nil {
			return fmt.Errorf("switch %s: %w", m.file, err)
		}
		if !*keepOld {
			if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove the old %s: %w", m.file, err)
			}
		}
	}
	if err := syncDir(*data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "switched to the rebuilt read models at position %d\n", last)
	return nil
}

// rebuildRegister folds the log up to last into a new register file.
func rebuildRegister(ctx context.Context, path string, store eventstore.Store, last eventstore.Position) error {
	reg, err := register.OpenScratch(path)
	if err != nil {
		return err
	}
	const page = 16384
	var after eventstore.Position
	for after < last {
		evs, err := store.ReadAll(ctx, after, eventstore.Filter{}, page)
		if err != nil {
			return errors.Join(err, reg.Close())
		}
		if len(evs) == 0 {
			break
		}
		if err := reg.Apply(evs); err != nil {
			return errors.Join(err, reg.Close())
		}
		after = evs[len(evs)-1].Position
	}
	if reg.Position() < last {
		return errors.Join(fmt.Errorf("reached position %d of %d", reg.Position(), last), reg.Close())
	}
	return errors.Join(reg.Sync(), reg.Close())
}

// rebuildCabinet folds the log up to last into a new cabinet file.
func rebuildCabinet(ctx context.Context, path string, store eventstore.Store, last eventstore.Position) error {
	cab, err := cabinet.OpenScratch(path)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cab.Run(runCtx, store) }()
	err = cab.WaitFor(ctx, last)
	stop()
	if runErr := <-done; err == nil && runCtx.Err() == nil {
		err = runErr
	}
	if err != nil {
		return errors.Join(err, cab.Close())
	}
	return errors.Join(cab.Sync(), cab.Close())
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
