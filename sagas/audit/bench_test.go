package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
	"lifesituations/sagas/audit"
)

// benchData is a data directory holding a log to verify, e.g. one left by
// `lifesituations bench population --data DIR`; the benchmarks skip
// without it. The store is copied to a temporary directory first, so the
// directory given is never opened for writing.
func benchStore(b *testing.B) *embedded.Store {
	b.Helper()
	dir := os.Getenv("LIFESITUATIONS_AUDIT_BENCH_DATA")
	if dir == "" {
		b.Skip("set LIFESITUATIONS_AUDIT_BENCH_DATA to a data directory (e.g. from lifesituations bench population --data DIR)")
	}
	s, err := embedded.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkReadAll reads the whole log, the bound verify is compared with.
func BenchmarkReadAll(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	last, _ := s.LastPosition(ctx)
	for b.Loop() {
		var after eventstore.Position
		for after < last {
			evs, err := s.ReadAll(ctx, after, eventstore.Filter{}, 8192)
			if err != nil {
				b.Fatal(err)
			}
			after = evs[len(evs)-1].Position
		}
	}
	b.ReportMetric(float64(last)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRegisterFold folds the whole log into a fresh register.
func BenchmarkRegisterFold(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	last, _ := s.LastPosition(ctx)
	for b.Loop() {
		reg, err := register.OpenScratch(filepath.Join(b.TempDir(), "r.db"))
		if err != nil {
			b.Fatal(err)
		}
		var after eventstore.Position
		for after < last {
			evs, err := s.ReadAll(ctx, after, eventstore.Filter{}, 8192)
			if err != nil {
				b.Fatal(err)
			}
			if err := reg.Apply(evs); err != nil {
				b.Fatal(err)
			}
			after = evs[len(evs)-1].Position
		}
		_ = reg.Close()
	}
	b.ReportMetric(float64(last)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify verifies the whole log.
func BenchmarkVerify(b *testing.B) {
	s := benchStore(b)
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	var events uint64
	for b.Loop() {
		rep, err := audit.Verify(context.Background(), audit.Config{Store: s, Catalogues: []*catalogue.Catalogue{cat}, Scratch: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK() {
			b.Fatalf("%d divergences", len(rep.Divergences))
		}
		events += rep.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
