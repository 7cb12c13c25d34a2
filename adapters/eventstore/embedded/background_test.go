package embedded

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/domain/eventstore"
)

// gatherStore reads the store's counters as an operator's registry has them.
func gatherStore(t *testing.T, s *Store) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		got[f.GetName()] = f.GetMetric()[0].GetCounter().GetValue()
	}
	return got
}

func TestBackgroundWorkIsCountedAndExported(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, t.TempDir())
	if b := s.Background(); b != (Background{}) {
		t.Fatalf("a fresh store has done %+v", b)
	}
	for round := range 3 {
		for i := range 50 {
			if _, err := s.Append(ctx, fmt.Sprintf("person-%d", i), eventstore.Any, testEvent(round*50+i)); err != nil {
				t.Fatal(err)
			}
		}
		// Each round in a file of its own, overlapping the others' index
		// keys: the compaction below has work to do.
		if err := s.eng.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.eng.db.Compact([]byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	b := s.Background()
	if b.Flushes < 3 || b.FlushTime <= 0 || b.Compactions < 1 || b.CompactionTime <= 0 || b.CompactedBytes == 0 {
		t.Fatalf("after 3 flushes and a compaction: %+v", b)
	}
	got := gatherStore(t, s)
	want := map[string]float64{
		"lifesituations_store_flushes_total":             float64(b.Flushes),
		"lifesituations_store_flush_seconds_total":       b.FlushTime.Seconds(),
		"lifesituations_store_compactions_total":         float64(b.Compactions),
		"lifesituations_store_compaction_seconds_total":  b.CompactionTime.Seconds(),
		"lifesituations_store_compaction_bytes_total":    float64(b.CompactedBytes),
		"lifesituations_store_write_stalls_total":        0,
		"lifesituations_store_write_stall_seconds_total": 0,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (exported: %v), want %v", name, g, ok, v)
		}
	}
	if d := b.Sub(b); d != (Background{}) {
		t.Errorf("a reading less itself is %+v", d)
	}
}
