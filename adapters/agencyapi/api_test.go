package agencyapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/agencyapi"
	"lifesituations/adapters/auditapi"
	"lifesituations/adapters/auth"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/entries"
)

var granted = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

type fakeEntries struct {
	entries map[uuid.UUID]entries.Entry
	waitErr error
}

func (f *fakeEntries) Lookup(registry string, id uuid.UUID) (entries.Entry, bool) {
	e, ok := f.entries[id]
	return e, ok && e.Registry == registry
}

func (f *fakeEntries) WaitFor(context.Context, eventstore.Position) error { return f.waitErr }

type fakeGrants map[uuid.UUID]cabinet.Grant

func (f fakeGrants) Grant(situation, id uuid.UUID) (cabinet.Grant, error) {
	g, ok := f[id]
	ok = ok && g.Situation == situation
	if !ok {
		return g, cabinet.ErrNotFound
	}
	return g, nil
}

func (fakeGrants) WaitFor(context.Context, eventstore.Position) error { return nil }

type fakeRecorder struct {
	records []auditapi.Access
	types   []string
	who     []auth.Principal
	err     error
}

func (f *fakeRecorder) Record(_ context.Context, typ string, p auth.Principal, a auditapi.Access) error {
	if f.err != nil {
		return f.err
	}
	f.records, f.types, f.who = append(f.records, a), append(f.types, typ), append(f.who, p)
	return nil
}

type fakeStore struct{ eventstore.Store }

func (fakeStore) LastPosition(context.Context) (eventstore.Position, error) { return 42, nil }

type fixture struct {
	api            http.Handler
	entries        *fakeEntries
	rec            *fakeRecorder
	snils, queue   cabinet.Grant
	snilsE, queueE entries.Entry
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{entries: &fakeEntries{entries: map[uuid.UUID]entries.Entry{}}, rec: &fakeRecorder{}}
	f.snils = cabinet.Grant{ID: uuid.New(), Situation: uuid.New(), Service: "child-snils", Status: cabinet.GrantActive, Applicant: "mother", Beneficiary: "child",
		GrantedAt: granted, Registry: "snils", EntryID: uuid.New(), LegalBasis: "27-FZ",
		Details: map[string]any{"family_name": "Иванов", "phone": "+79161234567", "bank_account": "4081", "household": []any{"a"}}}
	f.snils.Curator.Agency = "Social Fund"
	next := cabinet.Grant{ID: uuid.New(), Situation: uuid.New(), Registry: "kindergarten-queue", EntryID: uuid.New()}
	f.queue = cabinet.Grant{ID: uuid.New(), Situation: uuid.New(), Service: "kindergarten-queue", Status: cabinet.GrantWithdrawn, Beneficiary: "child",
		GrantedAt: granted, WithdrawnAt: granted.Add(time.Hour), Registry: "kindergarten-queue", EntryID: uuid.New(),
		ReplacedBy: next.ID, ReplacedIn: next.Situation, Details: map[string]any{"region": "RU-MOW"}}
	f.snilsE = entries.Entry{Registry: "snils", EntryID: f.snils.EntryID, GrantID: f.snils.ID, Situation: f.snils.Situation, Position: 7}
	f.queueE = entries.Entry{Registry: "kindergarten-queue", EntryID: f.queue.EntryID, GrantID: f.queue.ID, Situation: f.queue.Situation, Position: 9}
	f.entries.entries[f.snils.EntryID] = f.snilsE
	f.entries.entries[f.queue.EntryID] = f.queueE
	api, err := agencyapi.New(agencyapi.Config{Entries: f.entries, Store: fakeStore{}, Recorder: f.rec,
		Grants: fakeGrants{f.snils.ID: f.snils, f.queue.ID: f.queue, next.ID: next}, Wait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range api.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	f.api = mux
	return f
}

func (f *fixture) get(role auth.Role, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Role: role, Subject: "urn:agency:bank"}))
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, req)
	return w
}

func TestAnswersWhatAVerifierNeedsAndRecordsIt(t *testing.T) {
	f := newFixture(t)
	w := f.get(auth.RoleAgency, "/v1/registries/snils/entries/"+f.snils.EntryID.String())
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var e agencyapi.Entry
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if e.Registry != "snils" || e.EntryID != f.snils.EntryID || e.Service != "child-snils" || e.Beneficiary != "child" ||
		e.Status != agencyapi.StatusValid || !e.ValidFrom.Equal(granted) || e.WithdrawnAt != nil || e.ReplacedBy != nil ||
		e.Agency != "Social Fund" || e.LegalBasis != "27-FZ" {
		t.Errorf("entry = %+v", e)
	}
	if len(e.Details) != 1 || e.Details["family_name"] != "Иванов" {
		t.Errorf("details = %v, want only family_name", e.Details)
	}
	if strings.Contains(w.Body.String(), "mother") {
		t.Errorf("the answer names the applicant: %s", w.Body)
	}
	if len(f.rec.records) != 1 {
		t.Fatalf("records: %+v", f.rec.records)
	}
	r := f.rec.records[0]
	if f.rec.types[0] != agencyapi.TypeEntryRead || f.rec.who[0].Subject != "urn:agency:bank" || r.Person != "child" ||
		r.Status != 200 || r.Target != "snils/"+f.snils.EntryID.String() || !strings.HasPrefix(r.Path, "/v1/registries/snils/entries/") {
		t.Errorf("record = %s %+v", f.rec.types[0], r)
	}
}

func TestAWithdrawnEntrySaysWhenAndWhatReplacedIt(t *testing.T) {
	f := newFixture(t)
	w := f.get(auth.RoleAuditor, "/v1/registries/kindergarten-queue/entries/"+f.queue.EntryID.String())
	var e agencyapi.Entry
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if e.Status != agencyapi.StatusWithdrawn || e.WithdrawnAt == nil || !e.WithdrawnAt.Equal(granted.Add(time.Hour)) ||
		e.ReplacedBy == nil || e.ReplacedBy.Registry != "kindergarten-queue" {
		t.Errorf("entry = %+v", e)
	}
}

func TestUnknownEntriesAre404AndRecorded(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{
		"/v1/registries/civil-status/entries/" + f.snils.EntryID.String(),
		"/v1/registries/snils/entries/" + uuid.NewString(),
		"/v1/registries/snils/entries/nope",
	} {
		if w := f.get(auth.RoleAgency, path); w.Code != 404 || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	if len(f.rec.records) != 3 || f.rec.records[0].Status != 404 || f.rec.records[0].Person != "" {
		t.Errorf("records: %+v", f.rec.records)
	}
}

func TestNothingIsAnsweredUnrecorded(t *testing.T) {
	f := newFixture(t)
	f.rec.err = errors.New("disk full")
	w := f.get(auth.RoleAgency, "/v1/registries/snils/entries/"+f.snils.EntryID.String())
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "Иванов") ||
		!strings.Contains(w.Body.String(), "not-recorded") {
		t.Errorf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestAnIndexBehindTheLogIsNotA404(t *testing.T) {
	f := newFixture(t)
	f.entries.waitErr = context.DeadlineExceeded
	w := f.get(auth.RoleAgency, "/v1/registries/snils/entries/"+uuid.NewString())
	if w.Code != 503 || !strings.Contains(w.Body.String(), "catching-up") || len(f.rec.records) != 0 {
		t.Errorf("%d %s, records %+v", w.Code, w.Body, f.rec.records)
	}
}

func TestOtherRolesAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, role := range []auth.Role{auth.RoleCitizen, auth.RoleOperator, auth.RoleRegistry} {
		if w := f.get(role, "/v1/registries/snils/entries/"+f.snils.EntryID.String()); w.Code != 403 {
			t.Errorf("%s: %d", role, w.Code)
		}
	}
	if len(f.rec.records) != 0 {
		t.Errorf("refused requests recorded: %+v", f.rec.records)
	}
}
