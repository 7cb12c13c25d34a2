package main

import (
	"errors"

	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/eventstore"
)

// sealStore puts the personal-data decorator (adapters/eventstore/sealed)
// over an embedded store, with the key store of the data directory
// (<data>/keys). The faults wrapper goes under it, so a fault kills the
// process after the sealed bytes are durable, as it would without sealing.
func sealStore(s eventstore.Store, data string) (eventstore.Store, error) {
	keys, err := keystore.OpenIn(data)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return sealed.New(withFaults(s), keys), nil
}

// sealESDB puts the decorator over an EventStoreDB store, with the keys in
// the same server (esdb.KeyStore: one stream per person), so that every
// process of a split deployment seals and opens with the same keys.
func sealESDB(s *esdb.Store) eventstore.Store {
	return sealed.New(withFaults(s), s.Keys())
}
