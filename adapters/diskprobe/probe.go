// Package diskprobe measures the disk under a directory: how many small
// synchronous writes per second it takes (the limit of an fsync-per-commit
// store) and how fast it writes sequentially (the limit of bulk appends).
// Benchmarks report their figures as ratios against these.
//
// Elapsed times come from the monotonic clock: this is a measurement, not
// business time, so it does not go through the injected clock.
package diskprobe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// Config says how much to measure. Zero fields take the defaults.
type Config struct {
	// SyncDuration bounds the synchronous-write test (default 2 s).
	SyncDuration time.Duration
	// SyncOps bounds it too, whichever comes first (default 100,000).
	SyncOps int
	// SyncSize is the size of one synchronous write (default 4 KiB).
	SyncSize int
	// SeqBytes is written by the sequential test (default 256 MiB).
	SeqBytes int64
	// SeqBlock is the size of one sequential write (default 1 MiB).
	SeqBlock int
}

// Defaults used for zero Config fields.
const (
	DefaultSyncDuration = 2 * time.Second
	DefaultSyncOps      = 100_000
	DefaultSyncSize     = 4 << 10
	DefaultSeqBytes     = 256 << 20
	DefaultSeqBlock     = 1 << 20
)

func (c Config) withDefaults() Config {
	if c.SyncDuration <= 0 {
		c.SyncDuration = DefaultSyncDuration
	}
	if c.SyncOps <= 0 {
		c.SyncOps = DefaultSyncOps
	}
	if c.SyncSize <= 0 {
		c.SyncSize = DefaultSyncSize
	}
	if c.SeqBytes <= 0 {
		c.SeqBytes = DefaultSeqBytes
	}
	if c.SeqBlock <= 0 {
		c.SeqBlock = DefaultSeqBlock
	}
	return c
}

// Result is what Probe measured.
type Result struct {
	Dir  string     `json:"dir"`
	Sync SyncResult `json:"sync"`
	Seq  SeqResult  `json:"sequential"`
}

// SyncResult: writes of Size bytes, each followed by fdatasync.
type SyncResult struct {
	Size      int           `json:"size_bytes"`
	Ops       int           `json:"ops"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	OpsPerSec float64       `json:"ops_per_sec"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
}

// SeqResult: Bytes written in Block-sized writes, then one fsync; the
// elapsed time includes the fsync.
type SeqResult struct {
	Bytes       int64         `json:"bytes"`
	Block       int           `json:"block_bytes"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	MBPerSec    float64       `json:"mb_per_sec"`
	SyncElapsed time.Duration `json:"sync_ns"`
}

func (r Result) String() string {
	return fmt.Sprintf("%s: %.0f sync %d B writes/s (p50 %s, p99 %s), sequential %.1f MB/s (%d MiB in %d KiB blocks)",
		r.Dir, r.Sync.OpsPerSec, r.Sync.Size, r.Sync.P50, r.Sync.P99, r.Seq.MBPerSec, r.Seq.Bytes>>20, r.Seq.Block>>10)
}

// Probe runs both measurements in dir, in temporary files it removes.
func Probe(ctx context.Context, dir string, cfg Config) (Result, error) {
	cfg = cfg.withDefaults()
	res := Result{Dir: dir}
	var err error
	if res.Sync, err = SyncWrites(ctx, dir, cfg.SyncSize, cfg.SyncDuration, cfg.SyncOps); err != nil {
		return res, err
	}
	if res.Seq, err = SequentialWrite(ctx, dir, cfg.SeqBytes, cfg.SeqBlock); err != nil {
		return res, err
	}
	return res, nil
}

// SyncWrites writes size bytes and fdatasyncs, over and over, for d or ops
// writes, whichever comes first. Writes go to successive offsets of a file
// preallocated by the first pass, the way a log is appended to.
func SyncWrites(ctx context.Context, dir string, size int, d time.Duration, ops int) (res SyncResult, err error) {
	if size <= 0 || ops <= 0 || d <= 0 {
		return res, fmt.Errorf("sync writes: size %d, ops %d, duration %s: all must be positive", size, ops, d)
	}
	f, err := os.CreateTemp(dir, "diskprobe-sync-*")
	if err != nil {
		return res, fmt.Errorf("sync writes: %w", err)
	}
	defer removeFile(f, &err)

	block := randomBlock(size)
	lat := make([]time.Duration, 0, min(ops, 1<<16))
	start := time.Now()
	for len(lat) < ops {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t := time.Now()
		if _, err := f.Write(block); err != nil {
			return res, fmt.Errorf("sync writes: write: %w", err)
		}
		if err := fdatasync(f); err != nil {
			return res, fmt.Errorf("sync writes: fdatasync: %w", err)
		}
		lat = append(lat, time.Since(t))
		if time.Since(start) >= d {
			break
		}
	}
	res = SyncResult{Size: size, Ops: len(lat), Elapsed: time.Since(start)}
	res.OpsPerSec = float64(res.Ops) / res.Elapsed.Seconds()
	slices.Sort(lat)
	res.P50, res.P99, res.Max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	return res, nil
}

// SequentialWrite writes total bytes in block-sized writes, then fsyncs.
func SequentialWrite(ctx context.Context, dir string, total int64, block int) (res SeqResult, err error) {
	if total <= 0 || block <= 0 {
		return res, fmt.Errorf("sequential write: %d bytes in %d-byte blocks: both must be positive", total, block)
	}
	f, err := os.CreateTemp(dir, "diskprobe-seq-*")
	if err != nil {
		return res, fmt.Errorf("sequential write: %w", err)
	}
	defer removeFile(f, &err)

	buf := randomBlock(block)
	start := time.Now()
	for written := int64(0); written < total; {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := int(min(int64(block), total-written))
		if _, err := f.Write(buf[:n]); err != nil {
			return res, fmt.Errorf("sequential write: write: %w", err)
		}
		written += int64(n)
	}
	syncStart := time.Now()
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("sequential write: fsync: %w", err)
	}
	res = SeqResult{Bytes: total, Block: block, Elapsed: time.Since(start), SyncElapsed: time.Since(syncStart)}
	res.MBPerSec = float64(total) / 1e6 / res.Elapsed.Seconds()
	return res, nil
}

// randomBlock is incompressible, so a compressing file system or device
// cannot flatter the figures.
func randomBlock(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func percentile(sorted []time.Duration, p int) time.Duration {
	return sorted[(len(sorted)-1)*p/100]
}

func removeFile(f *os.File, err *error) {
	*err = errors.Join(*err, f.Close(), os.Remove(f.Name()))
}
