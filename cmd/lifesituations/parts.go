package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/httpapi"
)

// apiDeps is what a part of the public API is built from.
type apiDeps struct {
	core    *core
	log     *slog.Logger
	metrics prometheus.Registerer
	dev     bool
	tokens  httpapi.TokenIssuer // development tokens; nil in production
	auth    auth.Authenticator
	notify  notifyConfig
	data    string // the data directory
}

// apiPart builds one part of the public API: authenticated routes, and
// pages served without a token (the web cabinet signs in by itself).
type apiPart func(d apiDeps) (routes []httpapi.Route, pages []httpapi.PublicRoute, err error)

// apiParts are the parts beyond ingest and the citizen API; each part's
// file adds itself in an init function, so parts stay in files of their
// own.
var apiParts []apiPart

// serverRoutes are the endpoints of the public API beyond operations and
// development (which httpapi serves itself).
func serverRoutes(ingestHandler http.Handler, d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	routes := append([]httpapi.Route{
		{Pattern: "POST /v1/events", Roles: []auth.Role{auth.RoleRegistry}, Handler: ingestHandler},
	}, citizenapi.New(d.core.cabinet, d.core.service, d.log).Routes()...)
	var pages []httpapi.PublicRoute
	for _, part := range apiParts {
		r, p, err := part(d)
		if err != nil {
			return nil, nil, err
		}
		routes, pages = append(routes, r...), append(pages, p...)
	}
	return routes, pages, nil
}
