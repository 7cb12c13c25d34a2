package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"lifesituations/adapters/loadgen"
)

const benchUsage = `Usage:
  lifesituations bench ingest [flags]   load a running server over HTTP with registry events
  lifesituations bench disk [flags]     measure this machine's disk
  lifesituations bench store [flags]    measure the embedded event store
  lifesituations bench population [flags]  run the core on a synthetic population and a simulated year
  lifesituations bench compare [flags]  one workload through embedded/HTTP, NATS, worker groups and EventStoreDB workers
`

func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: which benchmark?")
	}
	switch args[0] {
	case "ingest":
		return benchIngest(ctx, args[1:], stdout, stderr)
	case "disk":
		return benchDisk(ctx, args[1:], stdout, stderr)
	case "store":
		return benchStore(ctx, args[1:], stdout, stderr)
	case "population":
		return benchPopulation(ctx, args[1:], stdout, stderr)
	case "compare":
		return benchCompare(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: unknown benchmark %q", args[0])
	}
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg loadgen.Config
	fs := newFlagSet("bench ingest", "Sends person.registered events to a running server and reports events/s and latency.\nIn development mode the token is fetched from /v1/dev/token; otherwise pass --token.", stderr)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL")
	fs.StringVar(&cfg.Token, "token", "", "registry token for urn:registry:population (default: a development token)")
	fs.IntVar(&cfg.Events, "events", 100000, "events to send")
	fs.IntVar(&cfg.Batch, "batch", 500, "events per request (1: single events)")
	fs.IntVar(&cfg.Clients, "clients", 4, "concurrent clients")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ingest batch=%d clients=%d: %s\n", cfg.Batch, cfg.Clients, res)
	return nil
}

// benchTimeout keeps a benchmark command bounded.
const benchTimeout = 10 * time.Minute
