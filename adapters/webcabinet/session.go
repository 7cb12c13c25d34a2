package webcabinet

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/domain/catalogue"
)

// Cookies. The session holds the bearer token itself: HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it), for the whole
// site, until the browser closes; the token's own expiry ends it sooner.
const (
	sessionCookie = "ls_session"
	// signinCookie is the sign-in form's double-submit token: there is no
	// session yet to bind a CSRF token to.
	signinCookie = "ls_signin"
	// maxForm bounds a form's body.
	maxForm = 64 << 10
	// personsShown is how many persons the development sign-in offers.
	personsShown = 50
)

// session is a signed-in citizen.
type session struct {
	person string
	token  string
}

var errNoSession = errors.New("not signed in")

// session authenticates the request's session cookie as a citizen.
func (s *Server) session(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return session{}, errNoSession
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return session{}, err
	}
	if p.Role != auth.RoleCitizen || p.Subject == "" {
		return session{}, errors.New("the session is not a citizen's")
	}
	return session{person: p.Subject, token: c.Value}, nil
}

// csrf is the token a session's forms carry: a MAC of the session's token
// under the server's key, so that only a page the server rendered for this
// session can send a form.
func (s *Server) csrf(token string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newView starts a page's view: its language (remembering one chosen with
// the switch) and the person's time zone once signed in.
func (s *Server) newView(w http.ResponseWriter, r *http.Request) *view {
	v := &view{Lang: chooseLang(r)}
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cfg.SecureCookies})
	}
	return v
}

func (s *Server) signedIn(v *view, sess session) {
	v.CSRF = s.csrf(sess.token)
	if p, ok := s.cfg.Register.People(sess.person)[sess.person]; ok {
		v.Person = &p
		v.zone = zone(p.TimeZone)
	} else {
		v.Person = &catalogue.Person{ID: sess.person, GivenName: sess.person}
	}
}

// zones caches the time zones of the people signed in.
var zones sync.Map // name -> *time.Location

// zone is a person's time zone, nil when unknown (the pages then say
// Moscow time).
func zone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, loc)
	return loc
}

// pageFunc serves a page to a signed-in citizen.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view, person string)

// page serves a GET page, sending a visitor who is not signed in to the
// sign-in page (and back here after it).
func (s *Server) page(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(w, r)
		sess, err := s.session(r)
		if err != nil {
			s.toSignIn(w, r, err)
			return
		}
		s.signedIn(v, sess)
		h(w, r, v, sess.person)
	})
}

// form serves a form's POST: from this site (Origin), by a signed-in
// citizen, with the session's CSRF token. A form of another session or of
// an earlier start of the server is refused with a page saying so, having
// done nothing.
func (s *Server) form(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(w, r)
		if !sameOrigin(r) {
			s.errorPage(w, r, v, http.StatusForbidden, "error.stale")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, v, http.StatusBadRequest, "error.badRequest")
			return
		}
		sess, err := s.session(r)
		if err != nil {
			s.toSignIn(w, r, err)
			return
		}
		s.signedIn(v, sess)
		if !equalMAC(r.PostForm.Get("csrf"), v.CSRF) {
			s.errorPage(w, r, v, http.StatusForbidden, "error.stale")
			return
		}
		h(w, r, v, sess.person)
	})
}

// sameOrigin refuses a request another site's page sent: browsers send
// Origin with every POST.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-site form: no cookie rides along either
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// toSignIn sends the visitor to the sign-in page, saying their session
// ended when it had one; a GET page comes back after signing in.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request, err error) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		q.Set("next", r.URL.Path)
	}
	if !errors.Is(err, errNoSession) {
		s.log.Info("web session refused", "path", r.URL.Path, "err", err)
		q.Set("why", "expired")
		s.clearSession(w)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	pageHeaders(w)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies})
}

// safeNext is where to go after signing in: a path of this site only.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// signinData is what the sign-in page shows.
type signinData struct {
	Dev     bool
	Persons []personChoice
	Token   string // the sign-in form's double-submit token
	Next    string
	Field   fieldView // the identifier (development) or token (production) field
}

type personChoice struct {
	ID, Name, Born string
}

// signInPage: GET /signin.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	v := s.newView(w, r)
	if r.URL.Query().Get("why") == "expired" {
		v.Alert = v.T("signin.expired")
	}
	s.showSignIn(w, r, v, http.StatusOK, fieldView{}, safeNext(r.URL.Query().Get("next")))
}

func (s *Server) showSignIn(w http.ResponseWriter, r *http.Request, v *view, status int, field fieldView, next string) {
	token := ""
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) == 43 {
		token = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		token = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: token, Path: "/signin",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies})
	}
	d := signinData{Dev: s.cfg.Tokens != nil, Token: token, Next: next}
	if d.Dev {
		field.Name, field.ID, field.Label, field.Hint, field.Type = "person_id", "f-person_id", v.T("signin.byID"), v.T("signin.byIDHint"), "text"
		for _, p := range s.cfg.Register.Persons(personsShown) {
			d.Persons = append(d.Persons, personChoice{ID: p.ID, Name: fullName(p), Born: v.Lang.date(p.BirthDate)})
		}
	} else {
		field.Name, field.ID, field.Label, field.Hint, field.Type = "token", "f-token", v.T("signin.token"), v.T("signin.tokenHint"), "textarea"
	}
	if field.Error != "" {
		v.Errors = []summaryItem{{Anchor: field.ID, Text: field.Error}}
	}
	d.Field = field
	v.Title = v.T("signin.title")
	v.Data = d
	s.render(w, r, status, "signin", v)
}

// signIn: POST /signin. In development mode the person chosen (a button,
// or an identifier typed) gets a development token for the role citizen;
// in production the identity provider's token pasted is checked. Either
// becomes the session cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	v := s.newView(w, r)
	if !sameOrigin(r) {
		s.errorPage(w, r, v, http.StatusForbidden, "error.stale")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, v, http.StatusBadRequest, "error.badRequest")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(signinCookie)
	if err != nil || !equalMAC(c.Value, r.PostForm.Get("signin")) {
		v.Alert = v.T("signin.stale")
		s.showSignIn(w, r, v, http.StatusForbidden, fieldView{}, next)
		return
	}
	var token string
	if s.cfg.Tokens != nil {
		id := strings.TrimSpace(r.PostForm.Get("person"))
		if id == "" {
			id = strings.TrimSpace(r.PostForm.Get("person_id"))
		}
		field := fieldView{Value: r.PostForm.Get("person_id")}
		switch {
		case id == "":
			field.Error = v.T("signin.empty")
		case len(s.cfg.Register.People(id)) == 0:
			field.Error = v.T("signin.unknown")
		}
		if field.Error != "" {
			s.showSignIn(w, r, v, http.StatusBadRequest, field, next)
			return
		}
		if token, err = s.cfg.Tokens.Issue(auth.Principal{Role: auth.RoleCitizen, Subject: id}); err != nil {
			s.log.Error("issue a development token", "err", err)
			s.errorPage(w, r, v, http.StatusInternalServerError, "error.internal")
			return
		}
	} else {
		token = strings.TrimSpace(r.PostForm.Get("token"))
		token = strings.TrimSpace(strings.TrimPrefix(token, "Bearer "))
		field := fieldView{}
		if token == "" {
			field.Error = v.T("signin.noToken")
		} else if p, err := s.cfg.Auth.Authenticate(r.Context(), token); err != nil {
			field.Error = v.Tf("signin.badToken", err.Error())
		} else if p.Role != auth.RoleCitizen {
			field.Error = v.Tf("signin.notCitizen", p.Role)
		}
		if field.Error != "" {
			s.showSignIn(w, r, v, http.StatusBadRequest, field, next)
			return
		}
	}
	s.setSession(w, token)
	pageHeaders(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut: POST /signout.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, _ *view, _ string) {
	s.clearSession(w)
	pageHeaders(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
