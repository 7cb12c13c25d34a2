package main

import (
	"context"

	"lifesituations/adapters/erasureapi"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/httpapi"
	"lifesituations/domain/eventstore"
	"lifesituations/sagas/erasure"
)

func init() { apiParts = append(apiParts, erasurePart) }

// erasurePart serves /v1/erasures: an operator requests the erasure of a
// person's personal data, an auditor approves it. Without a key store (a
// store that is not sealed) the endpoints answer 501.
func erasurePart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	var svc *erasure.Service
	if s, ok := d.core.store.(*sealed.Store); ok {
		svc = erasure.New(s, s.Keys(), d.core.clock)
	}
	visible := func(ctx context.Context, pos eventstore.Position) error {
		if err := d.core.register.WaitFor(ctx, pos); err != nil {
			return err
		}
		return d.core.cabinet.WaitFor(ctx, pos)
	}
	return erasureapi.New(svc, visible, d.log).Routes(), nil, nil
}
