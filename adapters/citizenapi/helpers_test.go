package citizenapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	mother   = "6f1c3c1e-0000-4000-8000-000000000001"
	father   = "6f1c3c1e-0000-4000-8000-000000000002"
	child    = "6f1c3c1e-0000-4000-8000-0000000000c1"
	stranger = "6f1c3c1e-0000-4000-8000-0000000000ff"
)

type family map[string][]cabinet.Child

func (f family) Children(parent string) []cabinet.Child { return f[parent] }

// commands applies the domain's commands to the situation streams as the
// saga runner does, with a catalogue rule of its own on bank accounts.
type commands struct {
	store eventstore.Store
	clock clock.Clock
}

func (c *commands) ConfirmDraft(ctx context.Context, sit, draft uuid.UUID, by string, fields map[string]any) (eventstore.Position, error) {
	return c.execute(ctx, sit, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		if v, ok := fields["bank_account"]; ok {
			if s, _ := v.(string); len(s) != 20 {
				return nil, &citizenapi.FieldErrors{Errors: []problem.FieldError{{
					Pointer: "/fields/bank_account", Detail: "a bank account has 20 digits"}}}
			}
		}
		return st.Confirm(draft, fields, by, now)
	})
}

func (c *commands) DeclineDraft(ctx context.Context, sit, draft uuid.UUID, by, reason string) (eventstore.Position, error) {
	return c.execute(ctx, sit, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Decline(draft, reason, by, now)
	})
}

func (c *commands) WithdrawGrant(ctx context.Context, sit, grant uuid.UUID, by string) (eventstore.Position, error) {
	return c.execute(ctx, sit, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawGrant(grant, by, now)
	})
}

func (c *commands) RateSituation(ctx context.Context, sit uuid.UUID, by string, score int, comment string) (eventstore.Position, error) {
	return c.execute(ctx, sit, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(score, comment, by, now)
	})
}

// execute folds the stream, runs cmd and appends what it records; with
// nothing recorded it returns the stream's last position.
func (c *commands) execute(ctx context.Context, sit uuid.UUID, cmd func(*situation.State, time.Time) ([]situation.Record, error)) (eventstore.Position, error) {
	recorded, err := c.store.ReadStream(ctx, situation.Stream(sit), 0, eventstore.Forwards, 1000)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return 0, fmt.Errorf("situation %s: %w", sit, situation.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	var st situation.State
	for _, e := range recorded {
		if err := st.Apply(e.Type, e.Data); err != nil {
			return 0, err
		}
	}
	last := recorded[len(recorded)-1]
	recs, err := cmd(&st, c.clock.Now())
	if err != nil || len(recs) == 0 {
		return last.Position, err
	}
	res, err := c.store.Append(ctx, situation.Stream(sit), eventstore.Exact(last.Revision), events(recs, c.clock.Now())...)
	return res.Position, err
}

func events(recs []situation.Record, now time.Time) []eventstore.Event {
	out := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			panic(err)
		}
		out[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: now}}
	}
	return out
}

type fixture struct {
	t      *testing.T
	clock  *clock.Manual
	store  eventstore.Store
	cab    *cabinet.Cabinet
	server *httptest.Server
}

// newFixture serves the API with a test authentication: the header
// X-Subject names the citizen, X-Role another role.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewManual(start)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	fam := family{
		mother: {{ID: child, BirthDate: "2026-02-20"}},
		father: {{ID: child, BirthDate: "2026-02-20"}},
	}
	cab, err := cabinet.Open(filepath.Join(t.TempDir(), "cabinet.db"), cabinet.WithFamily(fam, clk))
	if err != nil {
		t.Fatalf("open cabinet: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := cab.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run cabinet: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = cab.Close()
	})
	api := citizenapi.New(cab, &commands{store: store, clock: clk}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	authn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			role := auth.RoleCitizen
			if h := r.Header.Get("X-Role"); h != "" {
				role = auth.Role(h)
			}
			p := auth.Principal{Role: role, Subject: r.Header.Get("X-Subject")}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
	server := httptest.NewServer(authn(api.Handler()))
	t.Cleanup(server.Close)
	return &fixture{t: t, clock: clk, store: store, cab: cab, server: server}
}

// later moves the clock on so that each change has its own instant.
func (f *fixture) later() {
	f.t.Helper()
	if err := f.clock.Advance(time.Hour); err != nil {
		f.t.Fatal(err)
	}
}

// reply is an answer, its body kept for decoding.
type reply struct {
	status int
	ctype  string
	body   []byte
}

func (f *fixture) do(method, path, person, body string) reply {
	f.t.Helper()
	req, err := http.NewRequest(method, f.server.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Subject", person)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: raw}
}

func (f *fixture) get(path, person string) reply { return f.do(http.MethodGet, path, person, "") }

func (f *fixture) post(path, person, body string) reply {
	return f.do(http.MethodPost, path, person, body)
}

// ok decodes a 200 answer into v.
func (r reply) ok(t *testing.T, v any) {
	t.Helper()
	if r.status != http.StatusOK || r.ctype != "application/json" {
		t.Fatalf("status %d (%s), want 200: %s", r.status, r.ctype, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem checks a problem answer and returns it.
func (r reply) problem(t *testing.T, status int) problem.Problem {
	t.Helper()
	if r.status != status || r.ctype != "application/problem+json" {
		t.Fatalf("status %d (%s), want a %d problem: %s", r.status, r.ctype, status, r.body)
	}
	var p problem.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.body, err)
	}
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" {
		t.Errorf("incomplete problem %s", r.body)
	}
	return p
}

// pointers lists a validation problem's pointers.
func pointers(p problem.Problem) []string {
	out := []string{}
	for _, e := range p.Errors {
		out = append(out, e.Pointer)
	}
	return out
}

// birth opens a birth-of-child situation: the mother applies, the child
// benefits, the father participates.
type birth struct {
	id                                             uuid.UUID
	certificate, queue, allowance, residence       uuid.UUID // grant, grant, draft, draft
	certificateStep, queueStep                     catalogue.StepDecision
	allowanceStep, residenceStep, maternityCapital catalogue.StepDecision
}

func (f *fixture) openBirth(name string) birth {
	f.t.Helper()
	curator := catalogue.Curator{Name: "I. Petrova", Agency: "Social Fund"}
	text := func(en string) catalogue.Text { return catalogue.Text{RU: en + " (ru)", EN: en} }
	b := birth{id: situation.ID("birth-of-child", uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)))}
	b.certificateStep = catalogue.StepDecision{Key: "birth-certificate", Service: "birth-certificate", Title: text("Birth certificate"),
		Mode: catalogue.ModeGrant, Outcome: catalogue.OutcomeGranted, Applicant: mother, Beneficiary: child,
		Registry: "civil-status", Prefill: map[string]any{"child_given_name": "Petr"}, Curator: curator, LegalBasis: "143-FZ"}
	b.queueStep = catalogue.StepDecision{Key: "kindergarten-queue", Service: "kindergarten-queue", Title: text("Kindergarten queue"),
		Mode: catalogue.ModeGrantOptOut, Outcome: catalogue.OutcomeGranted, OptOut: true, Applicant: mother, Beneficiary: child,
		Registry: "education", Prefill: map[string]any{"region": "RU-MOW"}, Curator: curator, LegalBasis: "273-FZ"}
	b.allowanceStep = catalogue.StepDecision{Key: "child-allowance", Service: "child-allowance", Title: text("Child allowance"),
		Mode: catalogue.ModeDraft, Outcome: catalogue.OutcomeDrafted, Applicant: mother, Beneficiary: child,
		Prefill: map[string]any{"address": "Moscow", "bank_account": "40817810000000000001"}, Editable: []string{"bank_account"},
		Deadline: "2026-08-28", Curator: curator, LegalBasis: "81-FZ"}
	b.residenceStep = catalogue.StepDecision{Key: "residence-registration", Service: "residence-registration",
		Title: text("Residence registration"), Mode: catalogue.ModeDraft, Outcome: catalogue.OutcomeDrafted,
		Applicant: mother, Beneficiary: child, Prefill: map[string]any{"address": "Moscow"}, Editable: []string{"address"},
		Curator: curator, LegalBasis: "5242-1"}
	b.maternityCapital = catalogue.StepDecision{Key: "maternity-capital", Service: "maternity-capital", Title: text("Maternity capital"),
		Outcome: catalogue.OutcomeRejected, Applicant: mother, Beneficiary: mother, Curator: curator, LegalBasis: "256-FZ",
		Reasons: []catalogue.Reason{{Kind: catalogue.ReasonRule, Rule: "citizen", Text: text("Not a citizen of RU"), LegalBasis: "256-FZ art. 3"}}}
	b.certificate = situation.GrantID(situation.StepID(b.id, b.certificateStep.Key))
	b.queue = situation.GrantID(situation.StepID(b.id, b.queueStep.Key))
	b.allowance = situation.StepID(b.id, b.allowanceStep.Key)
	b.residence = situation.StepID(b.id, b.residenceStep.Key)

	o := situation.Opened{SituationID: b.id, Kind: "birth-of-child", Title: text("Birth of a child"), PersonID: mother,
		Participants: []string{mother, child, father}, OpenedAt: f.clock.Now(),
		Trigger: situation.Trigger{EventID: uuid.New(), Type: "birth.registered", EventDate: "2026-02-20"},
		Facts:   map[string]catalogue.Person{mother: {ID: mother, BirthDate: "1990-01-01"}, child: {ID: child, BirthDate: "2026-02-20"}}}
	recs := situation.Open(o, []catalogue.StepDecision{b.certificateStep, b.allowanceStep, b.queueStep, b.maternityCapital, b.residenceStep}, f.clock.Now())
	res, err := f.store.Append(context.Background(), situation.Stream(b.id), eventstore.NoStream, events(recs, f.clock.Now())...)
	if err != nil {
		f.t.Fatalf("open situation: %v", err)
	}
	if err := f.cab.WaitFor(context.Background(), res.Position); err != nil {
		f.t.Fatal(err)
	}
	return b
}

// sameJSON compares two answers' bodies as values.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}
