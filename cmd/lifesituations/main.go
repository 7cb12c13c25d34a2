// Command lifesituations is the one binary of the system: the server, the
// benchmarks and the tools of curators and auditors. It only wires the
// packages together; the logic lives in domain, sagas, projections and
// adapters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones of persons must load on any machine
)

const usage = `lifesituations: proactive public services driven by life events.

Usage:
  lifesituations serve [flags]          run the orchestrator (embedded store under ./data)
  lifesituations bench disk [flags]     measure this machine's disk (sync writes, sequential MB/s)
  lifesituations bench store [flags]    measure the embedded event store
  lifesituations bench ingest [flags]   load a running server over HTTP
  lifesituations bench population [flags]  the core on a synthetic population and a simulated year
  lifesituations catalogue check DIR    check a catalogue directory (file, line and reason of each problem)
  lifesituations catalogue test [flags] DIR   run the YAML test cases in DIR/tests against the catalogue in DIR
  lifesituations catalogue doc [DIR]    print the catalogue's documentation (Markdown) generated from its data
  lifesituations audit verify [flags]   replay the whole log, recompute every decision, report divergences (server stopped)
  lifesituations projections rebuild [flags]  rebuild the read models from the log (server stopped, or --server: live)
  lifesituations erase PERSON --reason TEXT --approved-by AUDITOR   erase a person's personal data (server stopped)
  lifesituations help                   this text

Every flag is also read from the environment as LIFESITUATIONS_<FLAG>
(upper case, dashes as underscores), e.g. LIFESITUATIONS_ADDR=:9090.
Run "lifesituations COMMAND --help" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	tuneCollector(os.Args[1:])
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "lifesituations:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; ctx is cancelled on SIGINT/SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "catalogue":
		return catalogueCmd(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "projections":
		return projectionsCmd(ctx, args[1:], stdout, stderr)
	case "erase":
		return eraseCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
