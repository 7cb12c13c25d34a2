package esdb

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/domain/eventstore"
)

// quiet drops the adapter's and the client's log lines in tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// opener opens stores on one server for storetest.
func opener(url string, opts ...Option) storetest.Opener {
	return func(t *testing.T) (eventstore.Store, func(*testing.T) eventstore.Store) {
		open := func(t *testing.T) eventstore.Store {
			t.Helper()
			s, err := Open(t.Context(), url, append([]Option{WithLogger(quiet)}, opts...)...)
			if err != nil {
				t.Fatalf("open %s: %v", url, err)
			}
			return s
		}
		return open(t), open
	}
}

// startDouble starts the in-process gRPC double of EventStoreDB.
func startDouble(t *testing.T, opts ...esdbdouble.Option) *esdbdouble.Double {
	t.Helper()
	d, err := esdbdouble.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// TestContractRealServer runs the shared contract suite against a real
// EventStoreDB/KurrentDB: the only run that counts for the adapter.
func TestContractRealServer(t *testing.T) {
	url := os.Getenv("LIFESITUATIONS_ESDB_URL")
	if url == "" {
		t.Skip("LIFESITUATIONS_ESDB_URL not set: the EventStoreDB contract suite did not run")
	}
	storetest.Run(t, opener(url), storetest.AppendManyInOrder())
}

// TestContractDouble runs the shared contract suite against the in-process
// double (esdbdouble). It exercises the adapter's mapping; it is not the
// real-server suite and proves nothing about EventStoreDB itself.
func TestContractDouble(t *testing.T) {
	d := startDouble(t, esdbdouble.WithSystemEvents(7))
	storetest.Run(t, opener(d.URL()), storetest.AppendManyInOrder())
}

// TestContractDoubleColdIndex runs the suite against the double with a
// position index that keeps 8 recent positions and an anchor every 4, so
// that nearly every position goes through the anchors and $all scans a
// large log would use.
func TestContractDoubleColdIndex(t *testing.T) {
	d := startDouble(t, esdbdouble.WithSystemEvents(3))
	storetest.Run(t, opener(d.URL(), withIndexSizes(4, 8)), storetest.AppendManyInOrder())
}
