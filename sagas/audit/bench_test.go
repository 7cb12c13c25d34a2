package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
	"lifesituations/sagas/audit"
)

// benchStore opens a data directory holding a log to verify, e.g. one left
// by `lifesituations bench population --data DIR`, as audit verify does:
// the embedded store (raw) and the decorator that opens the personal
// fields with the data directory's keys (what the verification reads).
// The benchmarks skip without one. Stop the server first.
func benchStore(b *testing.B) (raw *embedded.Store, opened *sealed.Store) {
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
	keys, err := keystore.OpenIn(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = keys.Close() })
	return s, sealed.New(s, keys)
}

// BenchmarkReadAll reads the whole log, the bound verify is compared with:
// raw, and with the personal fields opened by the decorator (verify opens
// them with the same function, on every core).
func BenchmarkReadAll(b *testing.B) {
	raw, opened := benchStore(b)
	for name, s := range map[string]eventstore.Store{"raw": raw, "opened": opened} {
		b.Run(name, func(b *testing.B) {
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
		})
	}
}

// BenchmarkRegisterFold folds the whole log into a fresh register.
func BenchmarkRegisterFold(b *testing.B) {
	_, s := benchStore(b)
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

// BenchmarkVerify verifies the whole log, with the fresh register in
// memory (as audit verify does by default) and in a scratch file.
func BenchmarkVerify(b *testing.B) {
	_, s := benchStore(b)
	cat, err := catalogue.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, inFile := range []bool{false, true} {
		b.Run(map[bool]string{false: "memory", true: "file"}[inFile], func(b *testing.B) {
			var events uint64
			for b.Loop() {
				cfg := audit.Config{Store: s, Catalogues: []*catalogue.Catalogue{cat}}
				if inFile {
					cfg.Scratch = b.TempDir()
				}
				rep, err := audit.Verify(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK() {
					b.Fatalf("%d divergences, first %+v", len(rep.Divergences), rep.Divergences[0])
				}
				events += rep.Events
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
