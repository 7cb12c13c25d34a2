package embedded_test

import (
	"testing"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/domain/eventstore"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (eventstore.Store, func(*testing.T) eventstore.Store) {
		dir := t.TempDir()
		open := func(t *testing.T) eventstore.Store {
			t.Helper()
			s, err := embedded.Open(dir)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			return s
		}
		return open(t), open
	})
}
