package register_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/derived/derivedtest"
	"lifesituations/projections/register"
)

// benchEvents is how many registry events each benchmark folds.
const benchEvents = 50_000

func registered(b *testing.B, i int) (string, eventstore.Event) {
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i)))
	raw, err := json.Marshal(map[string]any{
		"person_id": id, "family_name": "Ivanov", "given_name": "Petr",
		"birth_date": fmt.Sprintf("%d-%02d-%02d", 1940+i%80, 1+i%12, 1+i%28), "sex": "M",
		"citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
	if err != nil {
		b.Fatal(err)
	}
	return "person-" + id.String(), eventstore.Event{ID: uuid.New(), Type: "person.registered", SchemaVersion: 1,
		Data: raw, Metadata: eventstore.Metadata{OccurredAt: start}}
}

// BenchmarkFold folds benchEvents person.registered events from an embedded
// store: catchup folds a log written beforehand, live follows appends made
// one event at a time by concurrent writers, as ingest does. events/s is
// the fold's rate.
func BenchmarkFold(b *testing.B) {
	derivedtest.BenchmarkFold(b, start, func(b *testing.B) []derivedtest.Stream {
		streams := make([]derivedtest.Stream, benchEvents)
		for i := range streams {
			name, e := registered(b, i)
			streams[i] = derivedtest.Stream{Name: name, Events: []eventstore.Event{e}}
		}
		return streams
	}, func(dir string) (derivedtest.ReadModel, error) {
		return register.OpenProjection(filepath.Join(dir, "register.db"))
	})
}
