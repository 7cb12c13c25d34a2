package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/storebench"
)

func benchStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench store", "Measures the embedded event store in a scratch directory: batched appends,\nconcurrent single-event appenders (group commit), reading the global log.", stderr)
	dir := fs.String("dir", "", "scratch directory on the disk to measure (default: a new temporary directory, removed after)")
	events := fs.Int("events", 200_000, "events appended in batches")
	batch := fs.Int("batch", 500, "events per batch")
	singles := fs.Int("singles", 20_000, "events appended one by one by concurrent appenders")
	clients := fs.Int("clients", 64, "concurrent single-event appenders")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "lifesituations-bench-store-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	disk, err := probeDisk(ctx, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "disk: %s\n", disk)
	store, err := embedded.Open(*dir)
	if err != nil {
		return err
	}
	defer store.Close()

	fmt.Fprintf(stdout, "embedded store in %s\n", *dir)
	runs := []func() (storebench.Result, error){
		func() (storebench.Result, error) { return storebench.AppendBatches(ctx, store, *events, *batch) },
		func() (storebench.Result, error) { return storebench.ConcurrentSingles(ctx, store, *singles, *clients) },
		func() (storebench.Result, error) { return storebench.ReadAll(ctx, store, 10_000) },
		func() (storebench.Result, error) { return storebench.Subscribe(ctx, store) },
	}
	for _, run := range runs {
		res, err := run()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  (%.1fx the disk's sync writes/s)\n", res, res.Rate()/disk.Sync.OpsPerSec)
	}
	return nil
}
