package webcabinet

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageNames are the templates of whole pages; each is parsed with the
// layout and the partials.
var pageNames = []string{"signin", "home", "situation", "draft", "grants", "notifications", "error"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"set":          func(id uuid.UUID) bool { return id != uuid.Nil },
		"outcomeClass": outcomeClass,
		"iso":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webcabinet: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// outcomeClass is the badge style of an outcome; the outcome is always
// said in words too, never by colour alone.
func outcomeClass(o situation.Outcome) string {
	switch o {
	case catalogue.OutcomeGranted:
		return "ok"
	case catalogue.OutcomeDrafted:
		return "wait"
	case situation.OutcomeSubmitted, catalogue.OutcomeNotified:
		return "info"
	case catalogue.OutcomeRejected, situation.OutcomeExpired:
		return "bad"
	}
	return "neutral"
}

// view is what every page template is given: the language, who is signed
// in, the session's CSRF token, messages, and the page's own data.
type view struct {
	Lang   lang
	Person *catalogue.Person
	CSRF   string
	Nav    string // the section of the navigation the page is in
	Title  string
	Flash  string // what a command did (role=status)
	Alert  string // why a command could not be done (role=alert)
	Errors []summaryItem
	Data   any

	zone *time.Location
}

// summaryItem is one error of the summary above a form, linking to its
// field.
type summaryItem struct {
	Anchor string
	Text   string
}

// T is a message in the page's language; Tf formats one.
func (v *view) T(key string) string               { return v.Lang.msg(key) }
func (v *view) Tf(key string, args ...any) string { return v.Lang.msg(key, args...) }

// L picks a catalogue text's language.
func (v *view) L(t catalogue.Text) string { return v.Lang.pick(t) }

// OtherLang is the language the switch in the header offers.
func (v *view) OtherLang() lang {
	if v.Lang == en {
		return ru
	}
	return en
}

// Date says a date in words.
func (v *view) Date(d any) string {
	switch x := d.(type) {
	case cabinet.Date:
		return v.Lang.date(string(x))
	case string:
		return v.Lang.date(x)
	}
	return fmt.Sprint(d)
}

// Time says a moment in the person's time zone: "5 марта 2026, 14:05".
func (v *view) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := v.zone
	if loc == nil {
		loc = moscow
	}
	lt := t.In(loc)
	return v.Lang.date(lt.Format(time.DateOnly)) + ", " + lt.Format("15:04")
}

// Day says the date of a moment in the person's time zone.
func (v *view) Day(t time.Time) string {
	loc := v.zone
	if loc == nil {
		loc = moscow
	}
	return v.Lang.date(t.In(loc).Format(time.DateOnly))
}

// Outcome says a step's outcome.
func (v *view) Outcome(o situation.Outcome) string { return v.Lang.msg("outcome." + string(o)) }

// PersonName says the signed-in person's name.
func (v *view) PersonName() string {
	if v.Person == nil {
		return ""
	}
	return fullName(*v.Person)
}

// Label names a field; Registry a registry.
func (v *view) Label(name string) string    { return v.Lang.label(name) }
func (v *view) Registry(code string) string { return v.Lang.registry(code) }

// With pairs the view with a partial's data.
func (v *view) With(x any) partial { return partial{V: v, X: x} }

type partial struct {
	V *view
	X any
}

var moscow = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return loc
	}
	return time.FixedZone("MSK", 3*60*60)
}()

func fullName(p catalogue.Person) string {
	return strings.TrimSpace(p.GivenName + " " + p.FamilyName)
}

// render writes a page; a template failure is a 500 with nothing half
// written.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be shown; the error is logged", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageHeaders: personal pages are never cached nor framed, and run only
// the cabinet's own script and style sheet.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// errorPage shows a page saying what went wrong in words, with the status.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, v *view, status int, key string) {
	v.Title = v.T(key + ".title")
	v.Data = errorData{Heading: v.T(key + ".title"), Text: v.T(key)}
	s.render(w, r, status, "error", v)
}

type errorData struct{ Heading, Text string }

// serveAsset serves the style sheet and the script, embedded in the binary.
func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := fs.ReadFile(assetFS, "assets/"+path.Base(name))
	if err != nil || name != path.Base(name) {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
