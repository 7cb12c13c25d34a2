package citizenapi

import (
	"net/http"

	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
)

// listGrants: GET /v1/me/grants, oldest first (granted_at, then id),
// including those of the citizen's children under 18.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request, person string) {
	grants, err := a.cab.Grants(person)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeList(w, grants)
}

// withdrawGrant: POST /v1/me/grants/{id}/withdraw, by the grant's
// applicant; whether the grant allows it is the saga's to say (409).
func (a *API) withdrawGrant(w http.ResponseWriter, r *http.Request, person string) {
	id, ok := pathID(r)
	if !ok {
		notFound(w, "grant")
		return
	}
	g, err := a.cab.GrantFor(person, id)
	if err != nil {
		a.readFailed(w, r, "grant", err)
		return
	}
	if g.Applicant != person {
		// A parent sees a child's grant but only its applicant may opt out.
		notFound(w, "grant")
		return
	}
	var req struct{}
	if p := decodeBody(r, &req); p != nil {
		problem.Write(w, p)
		return
	}
	pos, err := a.cmds.WithdrawGrant(r.Context(), g.Situation, g.ID, person)
	if err != nil {
		a.commandFailed(w, r, "grant", err)
		return
	}
	if !a.await(w, r, pos) {
		return
	}
	if g, err = a.cab.GrantFor(person, id); err != nil {
		a.readFailed(w, r, "grant", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, g)
}
