package main

import (
	"lifesituations/adapters/auditapi"
	"lifesituations/adapters/httpapi"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/history"
)

func init() { apiParts = append(apiParts, auditPart) }

// auditPart serves /v1/audit (CONTRACT.md section 4): the auditors' reads,
// answered from the log through an in-memory index of who is concerned by
// which stream, built by the first read and caught up by each.
func auditPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	reader := history.NewReader(d.core.store, history.NewIndex())
	family := cabinet.RegisterFamily(d.core.register)
	api := auditapi.New(auditapi.Config{
		Store: d.core.store, Reader: reader, Children: family.Children, Clock: d.core.clock, Logger: d.log,
	})
	return api.Routes(), nil, nil
}
