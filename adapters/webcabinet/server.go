// Package webcabinet serves the citizen's cabinet to a person in a browser
// (CONTRACT.md section 3, the web page at /): server-rendered HTML pages and
// plain HTML forms over the same read model and commands as the JSON
// citizen API, in Russian or English by the browser's language.
//
// Nothing needs JavaScript: one small script, served as a file like the
// style sheet, only disables a form's buttons once it is sent. The pages
// sign in by themselves with an HttpOnly, SameSite=Strict cookie holding a
// bearer token (a development token for the person chosen in development
// mode, the identity provider's token in production), checked on every
// request by the same authenticator as the API; every form carries a
// CSRF token bound to that session.
package webcabinet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
)

// ReadModel is what the pages show (cabinet.Cabinet): the citizen API's
// read model.
type ReadModel = citizenapi.Cabinet

// Commands are the citizen's decisions (sagas/situations.Service), the same
// the citizen API gives. Errors: situation.ErrNotFound, situation.ErrConflict,
// situation.ErrInvalid, or a *situations.ValidationError for refused
// corrections.
type Commands = citizenapi.Commands

// Register names persons (register.Projection): the signed-in citizen, the
// people a draft is about, and the persons to choose from in development.
type Register interface {
	People(ids ...string) map[string]catalogue.Person
	Persons(limit int) []catalogue.Person
}

// Catalogue describes services: the editable fields of a draft, their
// types and the hint shown next to them.
type Catalogue interface {
	Service(code string) (*catalogue.Service, bool)
}

// Config is what the cabinet is built from.
type Config struct {
	ReadModel ReadModel
	Commands  Commands
	Register  Register
	Catalogue Catalogue
	// Auth verifies the session's token on every request.
	Auth auth.Authenticator
	// Tokens issues the token of the person chosen on the sign-in page in
	// development mode; nil in production, where the sign-in page takes
	// the identity provider's token.
	Tokens httpapi.TokenIssuer
	// SecureCookies marks the cookies Secure (production, served over TLS).
	SecureCookies bool
	Logger        *slog.Logger
}

// Server serves the pages.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	// key signs CSRF tokens; a restart makes forms of open pages stale,
	// which the page then says.
	key []byte
}

// New returns the web cabinet.
func New(cfg Config) (*Server, error) {
	if cfg.ReadModel == nil || cfg.Commands == nil || cfg.Register == nil || cfg.Catalogue == nil || cfg.Auth == nil {
		return nil, errors.New("webcabinet: the read model, commands, register, catalogue and authenticator are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: cfg.Logger, pages: pages, key: key}, nil
}

// Routes are the pages and their forms, served without a bearer token: each
// signs in by the session cookie itself.
func (s *Server) Routes() []httpapi.PublicRoute {
	return []httpapi.PublicRoute{
		{Pattern: "GET /", Handler: s.root()},
		{Pattern: "GET /signin", Handler: http.HandlerFunc(s.signInPage)},
		{Pattern: "POST /signin", Handler: http.HandlerFunc(s.signIn)},
		{Pattern: "POST /signout", Handler: s.form(s.signOut)},
		{Pattern: "GET /situations/{id}", Handler: s.page(s.situationPage)},
		{Pattern: "POST /situations/{id}/rating", Handler: s.form(s.rate)},
		{Pattern: "GET /drafts/{id}", Handler: s.page(s.draftPage)},
		{Pattern: "POST /drafts/{id}/confirm", Handler: s.form(s.confirm)},
		{Pattern: "POST /drafts/{id}/decline", Handler: s.form(s.decline)},
		{Pattern: "GET /grants", Handler: s.page(s.grantsPage)},
		{Pattern: "POST /grants/{id}/withdraw", Handler: s.form(s.withdraw)},
		{Pattern: "GET /notifications", Handler: s.page(s.notificationsPage)},
		{Pattern: "GET /assets/{name}", Handler: http.HandlerFunc(serveAsset)},
	}
}

// root serves the home page at exactly /. "GET /" also catches every GET
// no other route serves: a browser is shown a page saying there is no such
// page, an API client the problem the server answers any unknown endpoint
// with.
func (s *Server) root() http.Handler {
	home := s.page(s.home)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			home.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") || !strings.Contains(r.Header.Get("Accept"), "text/html") {
			problem.Write(w, problem.NotFound("no such endpoint: "+r.Method+" "+r.URL.Path))
			return
		}
		s.notFound(w, r, s.newView(w, r))
	})
}

// Handler serves the routes on their own (tests, or a server of its own).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	return mux
}

// awaitTimeout bounds the wait for the read model to show a command's
// result, as in the citizen API.
const awaitTimeout = 10 * time.Second

// await waits until the read model shows what a command recorded; false
// (with a page saying so) when it does not in time.
func (s *Server) await(w http.ResponseWriter, r *http.Request, v *view, pos eventstore.Position) bool {
	ctx, cancel := context.WithTimeout(r.Context(), awaitTimeout)
	defer cancel()
	if err := s.cfg.ReadModel.WaitFor(ctx, pos); err != nil {
		s.log.Warn("cabinet behind a recorded change", "path", r.URL.Path, "position", pos, "err", err)
		s.errorPage(w, r, v, http.StatusServiceUnavailable, "error.catchingUp")
		return false
	}
	return true
}

// equalMAC compares two tokens in constant time.
func equalMAC(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
