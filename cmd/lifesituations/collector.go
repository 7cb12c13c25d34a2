package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
)

// coreGCPercent is the collector's target for the processes that run the
// core (serve, bench population) when GOGC does not set one. The core's
// heap is mostly short-lived garbage (events decoded, encoded and sealed
// once each); collecting half as often gave 7% more life events/s in a
// burst of 100,000 persons, for 20% more peak memory (docs/performance.md,
// "Eighth session"). A verification gained nothing from it (see
// tuneVerify).
const coreGCPercent = 200

// A verification's heap grows with the register it folds, from nothing to
// 1.35 GB live at the end of the million-person year (1.85 million
// events). At GOGC=100 it was collected 45 times, most of them early and
// over a small heap that the next cycle marked again. It now collects only
// when its heap reaches a limit set by the log's length (GOGC=off and a
// memory limit): about twice the live heap at the end, and no less than a
// floor. Ahead in seven pairs of eight, by 1 - 12%, with less system time
// and a lower peak (docs/performance.md, "Ninth session"). A log that
// needs more than the limit is not stopped by it: the runtime then caps
// its collections at half the CPU.
const (
	verifyHeapPerEvent = 1536
	verifyHeapFloor    = 256 << 20
)

// tuneVerify sets a verification's collector for a log of events
// positions; a no-op unless tuneCollector chose it.
var tuneVerify = func(events uint64) {}

// tuneCollector sets coreGCPercent for a command line that runs the core,
// and the verification's limit (tuneVerify) for audit verify, unless GOGC
// or GOMEMLIMIT is set: an operator's setting wins. It is called by main
// only, so that tests, which run commands in their own process, keep the
// default.
func tuneCollector(args []string) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	switch {
	case gogc || limit:
	case runsTheCore(args):
		debug.SetGCPercent(coreGCPercent)
	case len(args) >= 2 && args[0] == "audit" && args[1] == "verify":
		tuneVerify = verifyCollector
	}
}

// verifyCollector collects only when the heap reaches the limit for a log
// of events positions.
func verifyCollector(events uint64) {
	debug.SetMemoryLimit(max(verifyHeapFloor, int64(min(events, 1<<40))*verifyHeapPerEvent))
	debug.SetGCPercent(-1)
}

func runsTheCore(args []string) bool {
	switch {
	case len(args) >= 1 && args[0] == "serve":
		return true
	case len(args) >= 2 && args[0] == "bench" && args[1] == "population":
		return true
	}
	return false
}

// gcPercent is the collector's target now (GOGC's meaning; -1 when off:
// runtime/metrics reports it as the uint64 of -1), read without setting it.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
