package cabinet_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/derived/derivedtest"
)

// benchEvents is how many situation events each benchmark folds.
const benchEvents = 50_000

// situationEvents is one birth situation opened with its five steps.
func situationEvents(b *testing.B, i int) []eventstore.Event {
	bi := newBirth(fmt.Sprintf("bench-%d", i))
	recs := situation.Open(bi.opened(), bi.steps(), start)
	events := make([]eventstore.Event, len(recs))
	for j, r := range recs {
		data, err := r.Payload()
		if err != nil {
			b.Fatal(err)
		}
		events[j] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: start}}
	}
	return events
}

// BenchmarkFold folds benchEvents situation events from an embedded store:
// catchup folds a log written beforehand, live follows appends made one
// situation at a time by concurrent writers, as the core's sagas do.
// events/s is the fold's rate.
func BenchmarkFold(b *testing.B) {
	derivedtest.BenchmarkFold(b, start, func(b *testing.B) []derivedtest.Stream {
		streams := make([]derivedtest.Stream, benchEvents/len(situationEvents(b, 0)))
		for i := range streams {
			id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i)))
			streams[i] = derivedtest.Stream{Name: situation.Stream(id), Events: situationEvents(b, i)}
		}
		return streams
	}, func(dir string) (derivedtest.ReadModel, error) {
		return cabinet.Open(filepath.Join(dir, "cabinet.db"))
	})
}

// BenchmarkReads reads a mother's cabinet (her situations, drafts and
// grants) after a birth: what a citizen's pages ask for. Each read folds
// the situations it shows from their kept logs.
func BenchmarkReads(b *testing.B) {
	f := newFixture(b)
	bi := newBirth("bench-reads")
	f.openSituation(bi.opened(), bi.steps()...)
	for _, read := range []struct {
		name string
		fn   func() (int, error)
	}{
		{"situations", func() (int, error) { s, err := f.cab.Situations(mother); return len(s), err }},
		{"drafts", func() (int, error) { d, err := f.cab.Drafts(mother); return len(d), err }},
		{"grants", func() (int, error) { g, err := f.cab.Grants(mother); return len(g), err }},
	} {
		b.Run(read.name, func(b *testing.B) {
			for b.Loop() {
				if n, err := read.fn(); err != nil || n == 0 {
					b.Fatalf("%d read, %v", n, err)
				}
			}
		})
	}
}
