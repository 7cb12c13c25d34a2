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
// "Eighth session"). A verification gained nothing from it and keeps the
// default.
const coreGCPercent = 200

// tuneCollector sets coreGCPercent for a command line that runs the core,
// unless GOGC is set: an operator's setting wins. It is called by main
// only, so that tests, which run commands in their own process, keep the
// default.
func tuneCollector(args []string) {
	if _, set := os.LookupEnv("GOGC"); set || !runsTheCore(args) {
		return
	}
	debug.SetGCPercent(coreGCPercent)
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
