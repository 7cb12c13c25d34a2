// Package citizenapi serves the citizen's part of the public API
// (CONTRACT.md section 3, /v1/me/...): what the cabinet read model shows a
// person, and the commands they may give on their drafts, grants and
// situations.
package citizenapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
)

// Cabinet is the read model the API answers from (cabinet.Cabinet).
type Cabinet interface {
	Drafts(person string) ([]cabinet.Draft, error)
	DraftFor(person string, id uuid.UUID) (cabinet.Draft, error)
	Grants(person string) ([]cabinet.Grant, error)
	GrantFor(person string, id uuid.UUID) (cabinet.Grant, error)
	Situations(person string) ([]cabinet.Situation, error)
	SituationFor(person string, id uuid.UUID) (cabinet.Situation, error)
	Notifications(person string) ([]cabinet.Notification, error)
	WaitFor(ctx context.Context, pos eventstore.Position) error
}

// Commands records a citizen's decisions in the situation streams (the
// saga runner of sagas/situations). Each returns the log position the
// cabinet must reach to show the result: with no new event when the call
// repeats one already done. Errors: situation.ErrNotFound,
// situation.ErrConflict (the message says why), situation.ErrInvalid, or a
// *FieldErrors for refused corrections.
type Commands interface {
	ConfirmDraft(ctx context.Context, situationID, draftID uuid.UUID, by string, fields map[string]any) (eventstore.Position, error)
	DeclineDraft(ctx context.Context, situationID, draftID uuid.UUID, by, reason string) (eventstore.Position, error)
	WithdrawGrant(ctx context.Context, situationID, grantID uuid.UUID, by string) (eventstore.Position, error)
	RateSituation(ctx context.Context, situationID uuid.UUID, by string, score int, comment string) (eventstore.Position, error)
}

// API serves /v1/me/...
type API struct {
	cab  Cabinet
	cmds Commands
	log  *slog.Logger
}

// New returns the citizen API.
func New(cab Cabinet, cmds Commands, log *slog.Logger) *API {
	return &API{cab: cab, cmds: cmds, log: log}
}

// Routes are the endpoints, for the role citizen; the principal's subject
// is the citizen's person id.
func (a *API) Routes() []httpapi.Route {
	route := func(pattern string, h handler) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Roles: []auth.Role{auth.RoleCitizen}, Handler: a.citizen(h)}
	}
	return []httpapi.Route{
		route("GET /v1/me/drafts", a.listDrafts),
		route("GET /v1/me/drafts/{id}", a.getDraft),
		route("POST /v1/me/drafts/{id}/confirm", a.confirmDraft),
		route("POST /v1/me/drafts/{id}/decline", a.declineDraft),
		route("GET /v1/me/grants", a.listGrants),
		route("POST /v1/me/grants/{id}/withdraw", a.withdrawGrant),
		route("GET /v1/me/situations", a.listSituations),
		route("POST /v1/me/situations/{id}/rating", a.rateSituation),
		route("GET /v1/me/notifications", a.listNotifications),
	}
}

// Handler serves the routes on their own, behind a caller's authentication
// (auth.Middleware, or a test's); each route checks the role itself.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	return mux
}
