package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchCompareTiny runs bench compare on a tiny workload and checks
// the report's shape: a row per case (NATS may say SKIPPED), the same
// situations opened in every case, and each row's life events/s and ratio
// to (a) recomputed from its own measured events and time.
func TestBenchCompareTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	args := []string{"compare", "--persons", "300", "--events", "30", "--partitions", "2", "--workers", "2", "--esdb-workers", "2"}
	if err := bench(ctx, args, &out, io.Discard); err != nil {
		t.Fatalf("bench compare: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log("\n" + report)

	row := regexp.MustCompile(`(?m)^\((\w)\) (.+?)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+([\d.]+)x$`)
	rows := row.FindAllStringSubmatch(report, -1)
	skipped := regexp.MustCompile(`(?m)^\(b\) .*SKIPPED: \S`).MatchString(report)
	want := []string{"a", "b", "c", "d", "d"}
	if skipped {
		want = []string{"a", "c", "d", "d"}
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r[1])
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("rows %v, want %v", ids, want)
	}
	// The time is printed to the millisecond: the rate it was measured at
	// lies between those of the time half a millisecond longer and shorter.
	var baseLo, baseHi float64
	for i, r := range rows {
		events, _ := strconv.Atoi(r[4])
		elapsed, err := time.ParseDuration(r[5])
		if err != nil || events != 30 || elapsed <= time.Millisecond {
			t.Fatalf("row %s: %d events in %q (%v)", r[1], events, r[5], err)
		}
		printed, _ := strconv.ParseFloat(r[6], 64)
		ratio, _ := strconv.ParseFloat(r[7], 64)
		lo := float64(events) / (elapsed + time.Millisecond/2).Seconds()
		hi := float64(events) / (elapsed - time.Millisecond/2).Seconds()
		if printed < lo-1 || printed > hi+1 {
			t.Errorf("row %s: %v ev/s printed, %v events in %v make %.1f - %.1f", r[1], printed, events, elapsed, lo, hi)
		}
		if i == 0 {
			baseLo, baseHi = lo, hi
		}
		if ratio < lo/baseHi-0.01 || ratio > hi/baseLo+0.01 {
			t.Errorf("row %s: ratio %v printed, %.3f - %.3f measured", r[1], ratio, lo/baseHi, hi/baseLo)
		}
	}
	if !strings.Contains(report, "EventStoreDB DOUBLE") {
		t.Error("the EventStoreDB rows do not say they ran on the double")
	}
	opened := regexp.MustCompile(`(?m)^  \(\w\) (\d+ situations .*)$`).FindAllStringSubmatch(report, -1)
	if len(opened) != len(rows) {
		t.Fatalf("%d 'opened' lines for %d rows", len(opened), len(rows))
	}
	for _, o := range opened[1:] {
		if o[1] != opened[0][1] {
			t.Errorf("the same burst opened %q in one case and %q in (a)", o[1], opened[0][1])
		}
	}
	split := regexp.MustCompile(`triggers handled per worker process: (\d+) / (\d+)`).FindStringSubmatch(report)
	if split == nil || split[1] == "0" || split[2] == "0" {
		t.Errorf("the two EventStoreDB worker processes did not both handle triggers: %v", split)
	}
}
