// Package auditapi serves the auditors' part of the public API
// (CONTRACT.md section 4): every event concerning a person as of any
// moment, their drafts, grants and situations as they stood then, rebuilt
// from the log, the explanation of any decision, and the record of who
// read what. Every read is itself recorded in the access stream before it
// is answered.
package auditapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/history"
)

// Config is what the API reads.
type Config struct {
	Store  eventstore.Store
	Reader *history.Reader
	// Children lists a person's children with their birth dates (from the
	// register): a parent's cabinet shows the grants of those under 18.
	Children func(person string) []cabinet.Child
	Clock    clock.Clock
	Logger   *slog.Logger
}

// API serves /v1/audit.
type API struct {
	cfg    Config
	record Recorder
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Children == nil {
		cfg.Children = func(string) []cabinet.Child { return nil }
	}
	return &API{cfg: cfg, record: Recorder{Store: cfg.Store, Clock: cfg.Clock}}
}

// Routes are the auditors' endpoints.
func (a *API) Routes() []httpapi.Route {
	auditor := []auth.Role{auth.RoleAuditor}
	return []httpapi.Route{
		{Pattern: "GET /v1/audit/people/{id}/events", Roles: auditor, Handler: a.read("GET /v1/audit/people/{id}/events", a.events)},
		{Pattern: "GET /v1/audit/people/{id}/state", Roles: auditor, Handler: a.read("GET /v1/audit/people/{id}/state", a.state)},
		{Pattern: "GET /v1/audit/explain/{id}", Roles: auditor, Handler: a.read("GET /v1/audit/explain/{id}", a.explain)},
		{Pattern: "GET /v1/audit/access", Roles: auditor, Handler: a.read("GET /v1/audit/access", a.access)},
	}
}

// answer is a handler's reply, written only once the read is recorded.
type answer struct {
	status      int
	contentType string
	body        []byte
	problem     *problem.Problem
	// person and target name what was read, for the record.
	person, target string
}

func jsonAnswer(v any) answer {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return answer{problem: internalProblem()}
	}
	return answer{status: http.StatusOK, contentType: "application/json", body: buf.Bytes()}
}

// NotRecorded is the 503 answered, with nothing else, when recording a
// read failed; reads names them ("read of a registry entry").
func NotRecorded(reads string) *problem.Problem {
	p := problem.New(http.StatusServiceUnavailable, "not-recorded", "Read not recorded",
		"every "+reads+" is recorded before it is answered, and recording this one failed; nothing was answered, try again")
	p.RetryAfter = time.Second
	return p
}

func problemAnswer(p *problem.Problem) answer { return answer{status: p.Status, problem: p} }

func internalProblem() *problem.Problem {
	return problem.New(http.StatusInternalServerError, "internal", "Internal error", "the request failed; it has been logged")
}

// read serves an auditor's read: the handler computes the answer, the read
// is recorded (who, what, when, and the answer's status), then answered.
// When the record cannot be written nothing is answered but a 503.
func (a *API) read(what string, h func(*http.Request) answer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := httpapi.Principal(w, r, "/v1/audit is", auth.RoleAuditor)
		if !ok {
			return
		}
		ans := h(r)
		if ans.problem != nil {
			ans.status = ans.problem.Status
		}
		err := a.record.Record(r.Context(), TypeAuditRead, p, Access{
			What: what, Path: r.URL.RequestURI(), Person: ans.person, Target: ans.target, Status: ans.status,
		})
		if err != nil {
			a.cfg.Logger.Error("recording an auditor's read failed", "path", r.URL.Path, "err", err)
			problem.Write(w, NotRecorded("read"))
			return
		}
		if ans.problem != nil {
			problem.Write(w, ans.problem)
			return
		}
		w.Header().Set("Content-Type", ans.contentType)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(ans.status)
		_, _ = w.Write(ans.body)
	})
}

func (a *API) failed(r *http.Request, err error) answer {
	if errors.Is(err, eventstore.ErrOverloaded) || errors.Is(err, eventstore.ErrClosed) {
		p := problem.New(http.StatusServiceUnavailable, "overloaded", "Overloaded", "the store cannot answer now; try again")
		p.RetryAfter = time.Second
		return problemAnswer(p)
	}
	a.cfg.Logger.Error("audit request failed", "path", r.URL.Path, "err", err)
	return problemAnswer(internalProblem())
}

// asOf reads the as_of query parameter: an RFC 3339 instant, or none.
func asOf(r *http.Request) (time.Time, *problem.Problem) {
	s := r.URL.Query().Get("as_of")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, problem.Validation("as_of must be an RFC 3339 instant such as 2026-03-01T00:00:00Z",
			[]problem.FieldError{{Pointer: "as_of", Detail: "not an RFC 3339 instant: " + s}})
	}
	return t, nil
}

func personParam(r *http.Request) (uuid.UUID, *problem.Problem) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, problem.NotFound("no person has the id " + r.PathValue("id") + ": a person id is a UUID")
	}
	return id, nil
}

// eventsList is the answer of the events endpoint.
type eventsList struct {
	Person uuid.UUID `json:"person"`
	AsOf   time.Time `json:"as_of,omitzero"`
	// Position is the end of the log when the answer was read.
	Position eventstore.Position `json:"position"`
	Items    []history.Event     `json:"items"`
}

// events: GET /v1/audit/people/{id}/events?as_of=.
func (a *API) events(r *http.Request) answer {
	person, p := personParam(r)
	if p != nil {
		return problemAnswer(p)
	}
	at, p := asOf(r)
	if p != nil {
		return problemAnswer(p)
	}
	all, last, err := a.cfg.Reader.Events(r.Context(), person, time.Time{})
	if err != nil {
		return a.failed(r, err)
	}
	if len(all) == 0 {
		ans := problemAnswer(problem.NotFound("no stored event concerns the person " + person.String()))
		ans.person = person.String()
		return ans
	}
	out := eventsList{Person: person, AsOf: at, Position: last, Items: []history.Event{}}
	for _, e := range all {
		if at.IsZero() || !e.RecordedAt.After(at) {
			out.Items = append(out.Items, e)
		}
	}
	ans := jsonAnswer(out)
	ans.person = person.String()
	return ans
}

// state: GET /v1/audit/people/{id}/state?as_of=.
func (a *API) state(r *http.Request) answer {
	person, p := personParam(r)
	if p != nil {
		return problemAnswer(p)
	}
	at, p := asOf(r)
	if p != nil {
		return problemAnswer(p)
	}
	if at.IsZero() {
		at = a.cfg.Clock.Now()
	}
	st, err := a.cfg.Reader.State(r.Context(), person, at, a.cfg.Children(person.String()))
	if err != nil {
		return a.failed(r, err)
	}
	ans := jsonAnswer(st)
	ans.person = person.String()
	return ans
}

// explain: GET /v1/audit/explain/{id}?as_of=&format=json|text&lang=ru|en.
func (a *API) explain(r *http.Request) answer {
	raw := r.PathValue("id")
	id, err := uuid.Parse(raw)
	if err != nil {
		ans := problemAnswer(problem.NotFound("no draft, grant or step has the id " + raw))
		ans.target = raw
		return ans
	}
	at, p := asOf(r)
	if p != nil {
		return problemAnswer(p)
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" && prefersText(r.Header.Get("Accept")) {
		format = "text"
	}
	if format != "" && format != "json" && format != "text" {
		return problemAnswer(problem.Validation("format must be json or text",
			[]problem.FieldError{{Pointer: "format", Detail: "unknown format " + strconv.Quote(format)}}))
	}
	ex, err := a.cfg.Reader.Explain(r.Context(), id, at)
	if errors.Is(err, history.ErrNotFound) {
		ans := problemAnswer(problem.NotFound("no draft, grant or step has the id " + id.String()))
		ans.target = id.String()
		return ans
	}
	if err != nil {
		return a.failed(r, err)
	}
	var ans answer
	if format == "text" {
		lang := q.Get("lang")
		if lang == "" {
			lang = "ru"
			if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en") {
				lang = "en"
			}
		}
		ans = answer{status: http.StatusOK, contentType: "text/plain; charset=utf-8", body: []byte(history.Words(ex, lang))}
	} else {
		ans = jsonAnswer(ex)
	}
	ans.person, ans.target = ex.Step.Applicant, id.String()
	return ans
}

// prefersText reports whether an Accept header asks for text/plain before
// JSON.
func prefersText(accept string) bool {
	t := strings.Index(accept, "text/plain")
	if t < 0 {
		return false
	}
	j := strings.Index(accept, "application/json")
	return j < 0 || t < j
}

// accessList is the answer of the access endpoint.
type accessList struct {
	Items []accessItem `json:"items"`
	// Next is the position to ask after for the next page; 0 at the end.
	Next eventstore.Position `json:"next,omitempty"`
}

type accessItem struct {
	Position   eventstore.Position `json:"position"`
	ID         uuid.UUID           `json:"id"`
	Type       string              `json:"type"`
	RecordedAt time.Time           `json:"recorded_at"`
	Data       json.RawMessage     `json:"data"`
}

// access: GET /v1/audit/access?person=&after=&limit=: the access records in
// log order, those naming person only when given.
func (a *API) access(r *http.Request) answer {
	q := r.URL.Query()
	var after eventstore.Position
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return problemAnswer(problem.Validation("after must be a log position",
				[]problem.FieldError{{Pointer: "after", Detail: "not a position: " + s}}))
		}
		after = n
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return problemAnswer(problem.Validation("limit must be 1 to 1000",
				[]problem.FieldError{{Pointer: "limit", Detail: "not 1 to 1000: " + s}}))
		}
		limit = n
	}
	person := q.Get("person")
	out := accessList{Items: []accessItem{}}
	const page = 1000
	// The access stream is read from the start and skipped up to after: a
	// position is not a revision.
	var from eventstore.Revision
	for len(out.Items) < limit {
		evs, err := a.cfg.Store.ReadStream(r.Context(), AccessStream, from, eventstore.Forwards, page)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return a.failed(r, err)
		}
		for _, e := range evs {
			if e.Position <= after {
				continue
			}
			if person != "" {
				var acc struct {
					Person string `json:"person"`
				}
				if json.Unmarshal(e.Data, &acc) != nil || acc.Person != person {
					continue
				}
			}
			out.Items = append(out.Items, accessItem{Position: e.Position, ID: e.ID, Type: e.Type, RecordedAt: e.Metadata.RecordedAt, Data: e.Data})
			if len(out.Items) == limit {
				out.Next = e.Position
				break
			}
		}
		if len(evs) < page {
			break
		}
		from = evs[len(evs)-1].Revision + 1
	}
	ans := jsonAnswer(out)
	ans.person = person
	return ans
}
