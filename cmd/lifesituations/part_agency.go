package main

import (
	"github.com/google/uuid"

	"lifesituations/adapters/agencyapi"
	"lifesituations/adapters/auditapi"
	"lifesituations/adapters/httpapi"
	"lifesituations/projections/entries"
)

// Registry verification (CONTRACT.md section 4): an agency or an auditor
// reads the entry a grant made, found through an in-memory index of the
// entries; every read is recorded in the access stream that auditors read
// with GET /v1/audit/access.
func init() { apiParts = append(apiParts, agencyPart) }

// liveEntries is the index of entries, which a live rebuild replaces.
type liveEntries struct{ *liveModel[*entries.Index] }

func (l liveEntries) Lookup(registry string, id uuid.UUID) (entries.Entry, bool) {
	return l.Model().Lookup(registry, id)
}

func agencyPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	index := liveEntries{newLiveModel("registry entries index", func() *entries.Index { return entries.New(d.core.store) })}
	runBeside(d, "registry entries index", index.Run)
	rebuildInMemory(d, "registry entries index", index.Rebuild)
	api, err := agencyapi.New(agencyapi.Config{
		Entries: index, Grants: d.core.cabinet, Store: d.core.store,
		Recorder: auditapi.Recorder{Store: d.core.store, Clock: d.core.clock},
		Logger:   d.log.With("part", "agency"),
	})
	if err != nil {
		return nil, nil, err
	}
	return api.Routes(), nil, nil
}
