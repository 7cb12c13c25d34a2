package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The population bench on a tiny population: 2,000 persons, 30 days. The
// report must say that life events were processed end to end and that the
// cabinets show their situations, drafts and grants.
func TestBenchPopulationSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the core for a simulated month")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	heap := filepath.Join(t.TempDir(), "heap.prof")
	args := []string{"population", "--persons", "2000", "--days", "30", "--burst", "200",
		"--rate", "100", "--latency", "1s", "--data", t.TempDir(), "--heapprofile", heap}
	if err := bench(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("bench population: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log("\n" + report)

	number := func(pattern string) int {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("the report has no %q", pattern)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := number(`load: (\d+) registration events`); n < 2000 {
		t.Errorf("%d registration events loaded, want one per person at least", n)
	}
	if n := number(`end to end: (\d+) life events in`); n == 0 {
		t.Error("no life event processed in the simulated month")
	}
	if n := number(`\s(\d+) situations \(`); n == 0 {
		t.Error("no situation opened")
	}
	if n := number(`cabinets: (\d+) situations`); n == 0 {
		t.Error("no situation in a cabinet")
	}
	if n := number(`with (\d+) drafts and \d+ grants`); n == 0 {
		t.Error("no draft in the cabinets")
	}
	if n := number(`with \d+ drafts and (\d+) grants`); n == 0 {
		t.Error("no grant in the cabinets")
	}
	// What ran behind each timed phase, the store's part read below its
	// sealing. The read models write behind their readers
	// (derived.Pending): a phase shorter than their commits' interval may
	// hold none, the second (a second long) some.
	behind := regexp.MustCompile(`\d+ collection\(s\) \([\d.]+s of the collector's CPU\), \d+ flush\(es\) of the store \([\d.]+s\), \d+ compaction\(s\) \([\d.]+s, \d+ MiB written\), (no write stall|\d+ write stall\(s\) \([\d.]+s\)), ` +
		`the register's commits \d+ write\(s\) of \d+ page\(s\) \([\d.]+s\), the cabinet's commits \d+ write\(s\) of \d+ page\(s\) \([\d.]+s\)`)
	if !regexp.MustCompile(`from the first request to the last visible: .*the register's commits [1-9].*the cabinet's commits [1-9]`).MatchString(report) {
		t.Error("a read model committed nothing in a second at 100 events/s")
	}
	for _, phase := range []string{"behind it, until the last was visible: ", "behind it, from the first request to the last visible: "} {
		if !regexp.MustCompile(regexp.QuoteMeta(phase) + behind.String()).MatchString(report) {
			t.Errorf("the report does not say what ran %q", phase)
		}
	}
	// The burst's CPU, per life event as its own total says.
	if m := regexp.MustCompile(`burst: (\d+) life events .*\n.*\n  the process's CPU ([\d.]+)s \(user and system, its requests included\): ([\d.]+)ms a life event, ([\d.]+) cores busy;`).FindStringSubmatch(report); m == nil {
		t.Error("the burst's report does not say its CPU")
	} else {
		n, _ := strconv.Atoi(m[1])
		total, _ := strconv.ParseFloat(m[2], 64)
		per, _ := strconv.ParseFloat(m[3], 64)
		if total <= 0 || math.Abs(per-total*1000/float64(n)) > 0.01+0.005*1000/float64(n) {
			t.Errorf("the burst's CPU: %vs over %d life events reported as %vms each", total, n, per)
		}
	}
	// The live heap's profile, as pprof reads it: gzipped, naming what it
	// samples.
	if raw, err := os.ReadFile(heap); err != nil {
		t.Errorf("no heap profile: %v", err)
	} else if zr, err := gzip.NewReader(bytes.NewReader(raw)); err != nil {
		t.Errorf("the heap profile is not gzipped: %v", err)
	} else if prof, err := io.ReadAll(zr); err != nil || !bytes.Contains(prof, []byte("inuse_space")) {
		t.Errorf("the heap profile samples no inuse_space (%d bytes, %v)", len(prof), err)
	}
	for _, want := range []string{"machine: nproc ", "calendar day sweep", "202 to the situation visible in the cabinet: p50 ", "of which 202 to its situation.opened in the log p50 ", "memory: peak RSS (VmHWM) ", "burst: 200 life events"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report has no %q", want)
		}
	}
}

func TestBenchPopulationRefusesAUsedDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "something"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := bench(context.Background(), []string{"population", "--persons", "100", "--data", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("got %v, want a refusal of a used directory", err)
	}
}
