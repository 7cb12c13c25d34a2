package main

import (
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

// The core's commands collect less often, and a verification when its
// heap reaches a limit set by the log's length, unless GOGC or GOMEMLIMIT
// says otherwise; the others keep the default.
func TestTuneCollector(t *testing.T) {
	before := debug.SetGCPercent(100)
	beforeLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(before)
		debug.SetMemoryLimit(beforeLimit)
		tuneVerify = func(uint64) {}
	})
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		v, had := os.LookupEnv(name)
		t.Cleanup(func() {
			if had {
				os.Setenv(name, v)
			} else {
				os.Unsetenv(name)
			}
		})
	}
	const events = 1_000_000
	cases := []struct {
		args      []string
		env       string // "" unset
		want      int
		wantLimit int64 // after tuneVerify(events)
	}{
		{[]string{"serve", "--demo"}, "", coreGCPercent, math.MaxInt64},
		{[]string{"bench", "population", "--persons", "10"}, "", coreGCPercent, math.MaxInt64},
		{[]string{"serve"}, "GOGC=50", 100, math.MaxInt64},
		{[]string{"audit", "verify"}, "", -1, events * verifyHeapPerEvent},
		{[]string{"audit", "verify"}, "GOGC=100", 100, math.MaxInt64},
		{[]string{"audit", "verify"}, "GOMEMLIMIT=1GiB", 100, math.MaxInt64},
		{[]string{"bench", "store"}, "", 100, math.MaxInt64},
		{[]string{}, "", 100, math.MaxInt64},
	}
	for _, c := range cases {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		tuneVerify = func(uint64) {}
		os.Unsetenv("GOGC")
		os.Unsetenv("GOMEMLIMIT")
		if name, value, ok := strings.Cut(c.env, "="); ok {
			os.Setenv(name, value)
		}
		tuneCollector(c.args)
		tuneVerify(events)
		if got := gcPercent(); got != c.want {
			t.Errorf("%q with %q: collector target %d, want %d", c.args, c.env, got, c.want)
		}
		if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
			t.Errorf("%q with %q: memory limit %d, want %d", c.args, c.env, got, c.wantLimit)
		}
	}
	// A small log collects no later than at the floor.
	verifyCollector(10)
	if got := debug.SetMemoryLimit(-1); got != verifyHeapFloor {
		t.Errorf("memory limit for 10 events %d, want %d", got, verifyHeapFloor)
	}
}
