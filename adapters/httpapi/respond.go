package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi/problem"
)

// WriteJSON answers v as JSON with status, never to be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Principal is the request's authenticated principal when its role is one
// of roles, whatever the router in front checked already. Otherwise it
// answers 401 (no principal) or 403, saying that what ("/v1/quality is",
// "registry entries are") is for the roles, and returns false.
func Principal(w http.ResponseWriter, r *http.Request, what string, roles ...auth.Role) (auth.Principal, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		problem.Write(w, problem.Unauthorized("the request carries no authenticated principal"))
		return auth.Principal{}, false
	}
	for _, role := range roles {
		if p.Role == role {
			return p, true
		}
	}
	names := make([]string, len(roles))
	for i, role := range roles {
		names[i] = string(role)
	}
	which := "the role " + names[0]
	if len(names) > 1 {
		which = "the roles " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	problem.Write(w, problem.Forbidden(fmt.Sprintf("%s for %s; the token's role is %s", what, which, p.Role)))
	return auth.Principal{}, false
}
