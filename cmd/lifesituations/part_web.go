package main

import (
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/webcabinet"
)

// The web cabinet at / (CONTRACT.md section 3): the citizen's pages over
// the same read model and commands as /v1/me, signing in by a session
// cookie of their own.
func init() { apiParts = append(apiParts, webPart) }

func webPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	web, err := webcabinet.New(webcabinet.Config{
		ReadModel: d.core.cabinet,
		Commands:  d.core.service,
		Register:  d.core.register,
		Catalogue: d.core.catalogue,
		Auth:      d.auth,
		Tokens:    d.tokens, // nil in production: the sign-in page takes the identity provider's token
		// Production is served over TLS (behind a terminating proxy): its
		// cookies never travel in clear.
		SecureCookies: !d.dev,
		Logger:        d.log.With("part", "web"),
	})
	if err != nil {
		return nil, nil, err
	}
	return nil, web.Routes(), nil
}
