package embedded

import (
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/prometheus/client_golang/prometheus"
)

// Background is what Pebble has done behind the store's appends since it
// was opened: flushes of its memtables, compactions of its files, and the
// write stalls they caused. Each flush or compaction keeps a core busy for
// a tenth of a second to two seconds; on a small machine that is where the
// tail of the latency goes (docs/performance.md), so the benchmarks report
// it beside their latencies and operators see it as metrics (Collectors).
type Background struct {
	Flushes        uint64
	FlushTime      time.Duration
	Compactions    uint64
	CompactionTime time.Duration
	// CompactedBytes is what compactions wrote.
	CompactedBytes uint64
	// WriteStalls and StallTime count a stall once it is over.
	WriteStalls uint64
	StallTime   time.Duration
}

// Sub is the work done between an earlier reading and b.
func (b Background) Sub(earlier Background) Background {
	return Background{
		Flushes: b.Flushes - earlier.Flushes, FlushTime: b.FlushTime - earlier.FlushTime,
		Compactions: b.Compactions - earlier.Compactions, CompactionTime: b.CompactionTime - earlier.CompactionTime,
		CompactedBytes: b.CompactedBytes - earlier.CompactedBytes,
		WriteStalls:    b.WriteStalls - earlier.WriteStalls, StallTime: b.StallTime - earlier.StallTime,
	}
}

// backgroundCounters are counted by the event listener, on Pebble's
// goroutines.
type backgroundCounters struct {
	flushes, flushNanos          atomic.Uint64
	compactions, compactionNanos atomic.Uint64
	compactedBytes               atomic.Uint64
	stalls, stallNanos           atomic.Uint64
	stallStarted                 atomic.Int64 // unix nanoseconds, 0 when not stalled
}

// listen counts into c what l is told.
func (c *backgroundCounters) listen(l *pebble.EventListener) {
	l.FlushEnd = func(info pebble.FlushInfo) {
		if info.Err == nil {
			c.flushes.Add(1)
			c.flushNanos.Add(uint64(info.TotalDuration))
		}
	}
	l.CompactionEnd = func(info pebble.CompactionInfo) {
		if info.Err != nil {
			return
		}
		c.compactions.Add(1)
		c.compactionNanos.Add(uint64(info.TotalDuration))
		for _, t := range info.Output.Tables {
			c.compactedBytes.Add(t.Size)
		}
	}
	l.WriteStallBegin = func(pebble.WriteStallBeginInfo) { c.stallStarted.Store(time.Now().UnixNano()) }
	l.WriteStallEnd = func() {
		if began := c.stallStarted.Swap(0); began != 0 {
			c.stalls.Add(1)
			c.stallNanos.Add(uint64(max(time.Now().UnixNano()-began, 0)))
		}
	}
}

func (c *backgroundCounters) read() Background {
	return Background{
		Flushes: c.flushes.Load(), FlushTime: time.Duration(c.flushNanos.Load()),
		Compactions: c.compactions.Load(), CompactionTime: time.Duration(c.compactionNanos.Load()),
		CompactedBytes: c.compactedBytes.Load(),
		WriteStalls:    c.stalls.Load(), StallTime: time.Duration(c.stallNanos.Load()),
	}
}

// Background is what Pebble has done behind the appends since Open.
func (s *Store) Background() Background { return s.eng.background.read() }

// Collectors are the store's background work as Prometheus counters
// (lifesituations_store_*), for an operator's registry.
func (s *Store) Collectors() []prometheus.Collector {
	counter := func(name, help string, value func(Background) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "lifesituations", Subsystem: "store", Name: name, Help: help},
			func() float64 { return value(s.Background()) })
	}
	return []prometheus.Collector{
		counter("flushes_total", "Memtables the embedded store flushed to files.",
			func(b Background) float64 { return float64(b.Flushes) }),
		counter("flush_seconds_total", "Time the embedded store's flushes took.",
			func(b Background) float64 { return b.FlushTime.Seconds() }),
		counter("compactions_total", "Compactions of the embedded store's files.",
			func(b Background) float64 { return float64(b.Compactions) }),
		counter("compaction_seconds_total", "Time the embedded store's compactions took (each keeps a core busy).",
			func(b Background) float64 { return b.CompactionTime.Seconds() }),
		counter("compaction_bytes_total", "Bytes the embedded store's compactions wrote.",
			func(b Background) float64 { return float64(b.CompactedBytes) }),
		counter("write_stalls_total", "Times the embedded store stopped taking writes until its compactions caught up.",
			func(b Background) float64 { return float64(b.WriteStalls) }),
		counter("write_stall_seconds_total", "Time the embedded store's writes were stalled.",
			func(b Background) float64 { return b.StallTime.Seconds() }),
	}
}
