package main

import (
	"fmt"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived"
)

// behind is the work a process did behind its requests up to a moment: the
// collector's cycles and CPU, the embedded store's flushes and
// compactions, and the read models' commits. Each of the first three keeps
// a core busy for a tenth of a second to two seconds; on two cores that is
// where the tail of a latency goes, so a benchmark reports what happened
// during a phase beside its figures.
type behind struct {
	// cpu is the process's CPU time, user and system (the benchmark's own
	// requests included); zero when the system does not tell.
	cpu      time.Duration
	gcCycles uint64
	gcCPU    float64 // seconds
	store    embedded.Background
	hasStore bool
	models   []fileModel
	commits  []derived.Commits // of each model
}

var behindSamples = []string{"/gc/cycles/total:gc-cycles", "/cpu/classes/gc/total:cpu-seconds"}

// behindNow reads the work done so far behind store's appends, in this
// process's collector and in the commits of the read models.
func behindNow(store eventstore.Store, models []fileModel) behind {
	s := make([]metrics.Sample, len(behindSamples))
	for i, name := range behindSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	var b behind
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if s[0].Value.Kind() == metrics.KindUint64 {
		b.gcCycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		b.gcCPU = s[1].Value.Float64()
	}
	if w, ok := backgroundOf(store); ok {
		b.store, b.hasStore = w.Background(), true
	}
	b.models = models
	for _, m := range models {
		b.commits = append(b.commits, m.commits())
	}
	return b
}

// cpuPer words the process's CPU between an earlier reading and b, over
// n items done in elapsed: per item, and how many cores were busy.
func (b behind) cpuPer(earlier behind, n int, item string, elapsed time.Duration) string {
	cpu := b.cpu - earlier.cpu
	if b.cpu == 0 || n == 0 || elapsed <= 0 {
		return "the process's CPU unknown"
	}
	return fmt.Sprintf("the process's CPU %.2fs (user and system, its requests included): %.2fms a %s, %.2f cores busy",
		cpu.Seconds(), float64(cpu.Microseconds())/1000/float64(n), item, cpu.Seconds()/elapsed.Seconds())
}

// since words the work done between an earlier reading and b.
func (b behind) since(earlier behind) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d collection(s) (%.2fs of the collector's CPU)", b.gcCycles-earlier.gcCycles, b.gcCPU-earlier.gcCPU))
	if b.hasStore {
		d := b.store.Sub(earlier.store)
		parts = append(parts, fmt.Sprintf("%d flush(es) of the store (%.2fs)", d.Flushes, d.FlushTime.Seconds()),
			fmt.Sprintf("%d compaction(s) (%.2fs, %d MiB written)", d.Compactions, d.CompactionTime.Seconds(), d.CompactedBytes>>20))
		if d.WriteStalls > 0 {
			parts = append(parts, fmt.Sprintf("%d write stall(s) (%.2fs)", d.WriteStalls, d.StallTime.Seconds()))
		} else {
			parts = append(parts, "no write stall")
		}
	}
	for i, m := range b.models {
		if i < len(earlier.commits) {
			d := b.commits[i].Sub(earlier.commits[i])
			parts = append(parts, fmt.Sprintf("the %s's commits %d write(s) of %d page(s) (%.2fs)", m.name, d.Writes, d.Pages, d.Time.Seconds()))
		}
	}
	return strings.Join(parts, ", ")
}
