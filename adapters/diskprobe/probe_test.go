package diskprobe

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestProbeTiny(t *testing.T) {
	dir := t.TempDir()
	res, err := Probe(t.Context(), dir, Config{
		SyncDuration: time.Minute, // the op count ends it
		SyncOps:      20,
		SyncSize:     512,
		SeqBytes:     3<<20 + 100, // not a multiple of the block
		SeqBlock:     1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sync.Ops != 20 || res.Sync.Size != 512 || res.Sync.OpsPerSec <= 0 {
		t.Errorf("sync result %+v, want 20 ops of 512 B at a positive rate", res.Sync)
	}
	if res.Sync.P50 > res.Sync.P99 || res.Sync.P99 > res.Sync.Max || res.Sync.Max <= 0 {
		t.Errorf("latencies p50 %s p99 %s max %s are not ordered", res.Sync.P50, res.Sync.P99, res.Sync.Max)
	}
	if res.Seq.Bytes != 3<<20+100 || res.Seq.MBPerSec <= 0 || res.Seq.SyncElapsed > res.Seq.Elapsed {
		t.Errorf("sequential result %+v", res.Seq)
	}
	if res.String() == "" {
		t.Error("empty summary")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("probe left %d files behind", len(entries))
	}
}

func TestProbeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := SyncWrites(ctx, t.TempDir(), 4096, time.Second, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("sync writes with a canceled context: err = %v", err)
	}
	if _, err := SequentialWrite(ctx, t.TempDir(), 1<<20, 4096); !errors.Is(err, context.Canceled) {
		t.Fatalf("sequential write with a canceled context: err = %v", err)
	}
}

func TestProbeRejectsBadSizes(t *testing.T) {
	if _, err := SyncWrites(t.Context(), t.TempDir(), 0, time.Second, 10); err == nil {
		t.Error("sync writes of 0 bytes succeeded")
	}
	if _, err := SequentialWrite(t.Context(), t.TempDir(), 1<<20, 0); err == nil {
		t.Error("sequential write in 0-byte blocks succeeded")
	}
}

// TestProbeHere measures a real disk with the default sizes when
// DISKPROBE_DIR names a directory on it, until the command line wires
// the probe:
//
//	DISKPROBE_DIR=/var/lib/lifesituations go test -run TestProbeHere -v ./adapters/diskprobe/
func TestProbeHere(t *testing.T) {
	dir := os.Getenv("DISKPROBE_DIR")
	if dir == "" {
		t.Skip("DISKPROBE_DIR not set")
	}
	res, err := Probe(t.Context(), dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
}
