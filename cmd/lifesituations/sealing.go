package main

import (
	"errors"

	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/eventstore"
)

// sealStore puts the personal-data decorator (adapters/eventstore/sealed)
// over an embedded store, with the key store of the data directory
// (<data>/keys). The faults wrapper goes under it, so a fault kills the
// process after the sealed bytes are durable, as it would without sealing.
// The EventStoreDB store is not sealed: its key store is not built (a
// shared one is needed by every process of a split deployment), and
// erasure answers 501 there.
func sealStore(s eventstore.Store, data string) (eventstore.Store, error) {
	keys, err := keystore.OpenIn(data)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return sealed.New(withFaults(s), keys), nil
}
