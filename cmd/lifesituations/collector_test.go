package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// The core's commands collect less often unless GOGC says otherwise; the
// others keep the default.
func TestTuneCollector(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	gogc, had := os.LookupEnv("GOGC")
	t.Cleanup(func() {
		if had {
			os.Setenv("GOGC", gogc)
		} else {
			os.Unsetenv("GOGC")
		}
	})
	cases := []struct {
		args []string
		env  string // "" unset
		want int
	}{
		{[]string{"serve", "--demo"}, "", coreGCPercent},
		{[]string{"bench", "population", "--persons", "10"}, "", coreGCPercent},
		{[]string{"serve"}, "50", 100},
		{[]string{"audit", "verify"}, "", 100},
		{[]string{"bench", "store"}, "", 100},
		{[]string{}, "", 100},
	}
	for _, c := range cases {
		debug.SetGCPercent(100)
		if c.env == "" {
			os.Unsetenv("GOGC")
		} else {
			os.Setenv("GOGC", c.env)
		}
		tuneCollector(c.args)
		if got := gcPercent(); got != c.want {
			t.Errorf("%q with GOGC=%q: collector target %d, want %d", c.args, c.env, got, c.want)
		}
	}
}
