package webcabinet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/webcabinet"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
	"lifesituations/sagas/situations"
)

var start = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

const (
	mother   = "6f1c3c1e-0000-4000-8000-000000000001"
	child    = "6f1c3c1e-0000-4000-8000-0000000000c1"
	stranger = "6f1c3c1e-0000-4000-8000-0000000000ff"
)

var (
	sitID       = uuid.MustParse("11111111-0000-4000-8000-000000000001")
	allowanceID = uuid.MustParse("22222222-0000-4000-8000-000000000001")
	residenceID = uuid.MustParse("22222222-0000-4000-8000-000000000002")
	queueID     = uuid.MustParse("33333333-0000-4000-8000-000000000001")
	snilsID     = uuid.MustParse("33333333-0000-4000-8000-000000000002")
)

// model is a read model and the commands on it, in memory: what the
// cabinet projection and the sagas do, reduced to the rules the pages rely
// on (who sees what, repeated commands are no-ops, the catalogue's checks).
type model struct {
	mu       sync.Mutex
	cat      *catalogue.Catalogue
	drafts   map[uuid.UUID]*cabinet.Draft
	grants   map[uuid.UUID]*cabinet.Grant
	sit      cabinet.Situation
	notes    []cabinet.Notification
	commands int // commands that recorded something
}

func newModel(t *testing.T) *model {
	t.Helper()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	m := &model{cat: cat, drafts: map[uuid.UUID]*cabinet.Draft{}, grants: map[uuid.UUID]*cabinet.Grant{}}
	curator := catalogue.Curator{Name: "Орлов Дмитрий Андреевич", Agency: "Социальный фонд России"}
	m.drafts[allowanceID] = &cabinet.Draft{
		ID: allowanceID, Service: "child-allowance", Situation: sitID, SituationKind: "birth-of-child",
		Title:  catalogue.Text{RU: "Единое пособие на ребёнка", EN: "Unified child allowance"},
		Status: situation.StatusOpen, Outcome: catalogue.OutcomeDrafted, Applicant: mother, Beneficiary: child,
		Prefill:  map[string]any{"child_id": child, "household_size": 2.0, "income_year": 2025.0, "region": "RU-MOW"},
		Editable: []string{"bank_account", "bik", "phone"}, Deadline: "2026-09-05", CreatedAt: start, Curator: curator,
		LegalBasis: "Федеральный закон от 19.05.1995 № 81-ФЗ",
	}
	m.drafts[residenceID] = &cabinet.Draft{
		ID: residenceID, Service: "residence-registration", Situation: sitID, SituationKind: "birth-of-child",
		Title:  catalogue.Text{RU: "Регистрация ребёнка по месту жительства", EN: "Registration of the child's residence"},
		Status: situation.StatusOpen, Outcome: catalogue.OutcomeDrafted, Applicant: mother, Beneficiary: child,
		Prefill:  map[string]any{"child_id": child, "address": "Москва, ул. Тверская, д. 1, кв. 5"},
		Editable: []string{"address"}, Deadline: "2026-06-08", CreatedAt: start,
		Curator: catalogue.Curator{Name: "Павлов Сергей Николаевич", Agency: "МВД России"},
	}
	m.grants[queueID] = &cabinet.Grant{
		ID: queueID, Service: "kindergarten-queue", Situation: sitID, Status: cabinet.GrantActive,
		Title:     catalogue.Text{RU: "Постановка в очередь в детский сад", EN: "Kindergarten waiting list"},
		Applicant: mother, Beneficiary: child, GrantedAt: start, Registry: "kindergarten-queue",
		EntryID: uuid.MustParse("44444444-0000-4000-8000-000000000001"), OptOut: true,
		Details: map[string]any{"child_id": child, "region": "RU-MOW"},
	}
	m.grants[snilsID] = &cabinet.Grant{
		ID: snilsID, Service: "child-snils", Situation: sitID, Status: cabinet.GrantActive,
		Title:     catalogue.Text{RU: "СНИЛС ребёнка", EN: "Child's SNILS"},
		Applicant: child, Beneficiary: child, GrantedAt: start, Registry: "snils",
		EntryID: uuid.MustParse("44444444-0000-4000-8000-000000000002"),
	}
	m.sit = cabinet.Situation{ID: sitID, Kind: "birth-of-child", Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"},
		EventDate: "2026-03-05", OpenedAt: start, Status: cabinet.SituationOpen,
		Steps: []cabinet.Step{
			{Service: "child-allowance", Title: m.drafts[allowanceID].Title, Outcome: catalogue.OutcomeDrafted, DraftID: allowanceID,
				Deadline: "2026-09-05", Curator: curator},
			{Service: "kindergarten-queue", Title: m.grants[queueID].Title, Outcome: catalogue.OutcomeGranted, GrantID: queueID,
				Curator: catalogue.Curator{Name: "Морозова Анна Викторовна", Agency: "Департамент образования региона"}},
		}}
	m.notes = []cabinet.Notification{{ID: uuid.New(), At: start, Situation: sitID, Service: "child-allowance",
		Kind: cabinet.KindOutcome, Outcome: catalogue.OutcomeDrafted, DraftID: allowanceID,
		Text: catalogue.Text{RU: "«Единое пособие на ребёнка»: заявление заполнено за вас.", EN: "“Unified child allowance”: the application has been filled in for you."}}}
	return m
}

func (m *model) sees(person, applicant, beneficiary string) bool {
	return person == applicant || person == beneficiary || (person == mother && (applicant == child || beneficiary == child))
}

func (m *model) Drafts(person string) ([]cabinet.Draft, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cabinet.Draft
	for _, id := range []uuid.UUID{allowanceID, residenceID} {
		if d := m.drafts[id]; d.Applicant == person || d.Beneficiary == person {
			out = append(out, *d)
		}
	}
	return out, nil
}

func (m *model) DraftFor(person string, id uuid.UUID) (cabinet.Draft, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.drafts[id]
	if !ok || (d.Applicant != person && d.Beneficiary != person) {
		return cabinet.Draft{}, fmt.Errorf("draft %s: %w", id, cabinet.ErrNotFound)
	}
	return *d, nil
}

func (m *model) Grants(person string) ([]cabinet.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cabinet.Grant
	for _, id := range []uuid.UUID{queueID, snilsID} {
		if g := m.grants[id]; m.sees(person, g.Applicant, g.Beneficiary) {
			out = append(out, *g)
		}
	}
	return out, nil
}

func (m *model) GrantFor(person string, id uuid.UUID) (cabinet.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[id]
	if !ok || !m.sees(person, g.Applicant, g.Beneficiary) {
		return cabinet.Grant{}, fmt.Errorf("grant %s: %w", id, cabinet.ErrNotFound)
	}
	return *g, nil
}

func (m *model) Situations(person string) ([]cabinet.Situation, error) {
	if person != mother {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return []cabinet.Situation{m.sit}, nil
}

func (m *model) SituationFor(person string, id uuid.UUID) (cabinet.Situation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if person != mother || id != sitID {
		return cabinet.Situation{}, fmt.Errorf("situation %s: %w", id, cabinet.ErrNotFound)
	}
	return m.sit, nil
}

func (m *model) Notifications(person string) ([]cabinet.Notification, error) {
	if person != mother {
		return nil, nil
	}
	return m.notes, nil
}

func (m *model) WaitFor(context.Context, eventstore.Position) error { return nil }

func (m *model) ConfirmDraft(_ context.Context, sit, id uuid.UUID, by string, fields map[string]any) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.drafts[id]
	if d == nil || d.Situation != sit {
		return 0, situation.ErrNotFound
	}
	if len(fields) > 0 {
		if errs := m.cat.ValidateCorrections(d.Service, fields); len(errs) > 0 {
			return 0, &situations.ValidationError{Errors: errs}
		}
	}
	switch d.Status {
	case situation.StatusOpen:
	case situation.StatusConfirmed:
		if fmt.Sprint(d.Fields) == fmt.Sprint(fields) {
			return 1, nil
		}
		return 0, fmt.Errorf("draft %s is already confirmed with other fields: %w", id, situation.ErrConflict)
	default:
		return 0, fmt.Errorf("draft %s is %s and can no longer be confirmed: %w", id, d.Status, situation.ErrConflict)
	}
	d.Status, d.Outcome, d.Fields, d.UpdatedAt = situation.StatusConfirmed, situation.OutcomeSubmitted, fields, start.Add(time.Hour)
	m.commands++
	return 1, nil
}

func (m *model) DeclineDraft(_ context.Context, _, id uuid.UUID, _, _ string) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.drafts[id]
	switch d.Status {
	case situation.StatusOpen:
	case situation.StatusDeclined:
		return 1, nil
	default:
		return 0, fmt.Errorf("draft %s is %s and can no longer be declined: %w", id, d.Status, situation.ErrConflict)
	}
	d.Status, d.Outcome, d.UpdatedAt = situation.StatusDeclined, situation.OutcomeDeclined, start.Add(time.Hour)
	m.commands++
	return 1, nil
}

func (m *model) WithdrawGrant(_ context.Context, _, id uuid.UUID, _ string) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.grants[id]
	if g.Status == cabinet.GrantWithdrawn {
		return 1, nil
	}
	if !g.OptOut {
		return 0, fmt.Errorf("grant %s does not allow opting out: %w", id, situation.ErrConflict)
	}
	g.Status, g.WithdrawnAt = cabinet.GrantWithdrawn, start.Add(time.Hour)
	m.commands++
	return 1, nil
}

func (m *model) RateSituation(_ context.Context, _ uuid.UUID, _ string, score int, comment string) (eventstore.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sit.Rating = &cabinet.Rating{Score: score, Comment: comment, At: start}
	m.commands++
	return 1, nil
}

func (m *model) draft(id uuid.UUID) cabinet.Draft {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.drafts[id]
}

// register names the persons of the tests.
type register map[string]catalogue.Person

func (r register) People(ids ...string) map[string]catalogue.Person {
	out := map[string]catalogue.Person{}
	for _, id := range ids {
		if p, ok := r[id]; ok {
			out[id] = p
		}
	}
	return out
}

func (r register) Persons(limit int) []catalogue.Person {
	var out []catalogue.Person
	for _, id := range []string{mother, child, stranger} {
		if len(out) < limit {
			out = append(out, r[id])
		}
	}
	return out
}

var people = register{
	mother:   {ID: mother, FamilyName: "Иванова", GivenName: "Мария", BirthDate: "1994-03-01", TimeZone: "Europe/Moscow"},
	child:    {ID: child, FamilyName: "Иванов", GivenName: "Пётр", BirthDate: "2026-03-05", TimeZone: "Europe/Moscow"},
	stranger: {ID: stranger, FamilyName: "Петров", GivenName: "Пётр", BirthDate: "1980-01-01", TimeZone: "Europe/Moscow"},
}

type fixture struct {
	t      *testing.T
	model  *model
	clock  *clock.Manual
	dev    *auth.Dev
	server *httptest.Server
}

// newFixture serves the cabinet in development mode (prod: production,
// where the sign-in page takes a token).
func newFixture(t *testing.T, prod bool) *fixture {
	t.Helper()
	clk := clock.NewManual(start)
	dev, err := auth.NewDev(t.TempDir(), clk)
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(t)
	cfg := webcabinet.Config{ReadModel: m, Commands: m, Register: people, Catalogue: m.cat, Auth: dev, Tokens: dev}
	if prod {
		cfg.Tokens = nil
	}
	web, err := webcabinet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, model: m, clock: clk, dev: dev, server: srv}
}

// browser is a cookie-keeping client that does not follow redirects, so
// that the tests see them.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
	lang   string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, f: f, lang: "ru-RU,ru;q=0.9,en;q=0.5", client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.server.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept-Language", b.lang)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.f.server.URL)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do("POST", path, form)
}

// signIn signs in as person through the development sign-in page.
func (b *browser) signIn(person string) {
	b.t.Helper()
	p := b.get("/signin")
	token := hidden(b.t, p.body, "signin")
	r := b.post("/signin", url.Values{"signin": {token}, "person": {person}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		b.t.Fatalf("sign in as %s: %d %s", person, r.status, r.header.Get("Location"))
	}
}

// csrf is the CSRF token of the forms of a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	return hidden(b.t, b.get(path).body, "csrf")
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no hidden field %q in the page:\n%s", name, body)
	return ""
}

func (p page) want(t *testing.T, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("the page lacks %q:\n%s", s, p.body)
		}
	}
}

func (p page) lacks(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			t.Errorf("the page shows %q", s)
		}
	}
}
