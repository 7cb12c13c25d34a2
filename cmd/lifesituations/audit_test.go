package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/sagas/audit"
)

// auditor reads /v1/audit as an auditor.
type auditor struct {
	t *testing.T
	s *server
}

func (a auditor) get(path string) response {
	a.t.Helper()
	return do(a.t, "GET", a.s.url+path, devToken(a.t, a.s, "auditor", "auditor-7"), "", nil)
}

func (a auditor) json(path string, out any) {
	a.t.Helper()
	r := a.get(path)
	if r.status != 200 {
		a.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		a.t.Fatalf("GET %s: %v: %s", path, err, r.body)
	}
}

type auditEvent struct {
	Position      uint64          `json:"position"`
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	Type          string          `json:"type"`
	Time          time.Time       `json:"time"`
	RecordedAt    time.Time       `json:"recorded_at"`
	CorrelationID *string         `json:"correlation_id"`
	CausationID   *string         `json:"causation_id"`
	Data          json.RawMessage `json:"data"`
}

func (a auditor) events(person, asOf string) []auditEvent {
	a.t.Helper()
	var out struct{ Items []auditEvent }
	path := "/v1/audit/people/" + person + "/events"
	if asOf != "" {
		path += "?as_of=" + asOf
	}
	a.json(path, &out)
	return out.Items
}

type auditState struct {
	Situations []situationView `json:"situations"`
	Drafts     []draftView     `json:"drafts"`
	Grants     []grantView     `json:"grants"`
}

func (a auditor) state(person, asOf string) auditState {
	a.t.Helper()
	var out auditState
	a.json("/v1/audit/people/"+person+"/state?as_of="+asOf, &out)
	return out
}

func types(evs []auditEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestAuditHistoryStateAndExplanations(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := startServer(t, "--clock", "manual", "--clock-start", start.Format(time.RFC3339))
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	mother, foreigner := personID(1), personID(3)
	send(t, s, population,
		registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(foreigner, "Сейткали", "Айгерим", "1996-09-09", "F", "KZ", "RU-SPE", "Europe/Moscow", "Санкт-Петербург, Невский пр., д. 20", t0),
	)
	beforeBirth := t0.Add(30 * time.Minute)
	setClock(t, s, beforeBirth)
	setClock(t, s, t0.Add(time.Hour))
	child, foreignChild := personID(11), personID(12)
	send(t, s, civilStatus,
		born("birth-1", child, mother, "2026-03-05", "770-2026-000001", t0),
		born("birth-2", foreignChild, foreigner, "2026-03-06", "780-2026-000002", t0))
	setClock(t, s, t0.Add(2*time.Hour))
	afterBirth := t0.Add(2 * time.Hour)

	a := auditor{t, s}
	maria := signIn(t, s, mother)

	// Events: her registration, then the birth (in her child's stream,
	// naming her), then her situation's events, in log order.
	evs := a.events(mother, "")
	got := types(evs)
	if len(got) < 4 || got[0] != "person.registered" || got[1] != "birth.registered" || got[2] != "situation.opened" {
		t.Fatalf("events of the mother: %v", got)
	}
	for i, e := range evs {
		if i > 0 && e.Position <= evs[i-1].Position {
			t.Fatalf("events not in log order: %d after %d", e.Position, evs[i-1].Position)
		}
		if e.RecordedAt.IsZero() || e.Time.IsZero() || e.CorrelationID == nil || e.CausationID == nil || len(e.Data) == 0 || e.ID == "" {
			t.Fatalf("event %d lacks a field: %+v", i, e)
		}
	}
	if evs[1].Stream != "person-"+child {
		t.Fatalf("the birth is stored in the child's stream, got %s", evs[1].Stream)
	}
	if opened := evs[2]; *opened.CausationID != evs[1].ID {
		t.Fatalf("the opening is caused by the birth %s, says %s", evs[1].ID, *opened.CausationID)
	}
	// As of before the birth, only her registration.
	if got := types(a.events(mother, beforeBirth.Format(time.RFC3339))); len(got) != 1 || got[0] != "person.registered" {
		t.Fatalf("events as of before the birth: %v", got)
	}
	// Nobody's events: 404; a bad as_of: 400.
	if r := a.get("/v1/audit/people/" + personID(99) + "/events"); r.status != 404 {
		t.Fatalf("unknown person: %d %s", r.status, r.body)
	}
	if r := a.get("/v1/audit/people/" + mother + "/events?as_of=yesterday"); r.status != 400 {
		t.Fatalf("bad as_of: %d %s", r.status, r.body)
	}
	// Only auditors.
	r := do(t, "GET", s.url+"/v1/audit/people/"+mother+"/events", devToken(t, s, "citizen", mother), "", nil)
	if r.status != 403 {
		t.Fatalf("a citizen reads the audit: %d", r.status)
	}

	// State: nothing before the birth; now, what her cabinet shows.
	if st := a.state(mother, beforeBirth.Format(time.RFC3339)); len(st.Situations)+len(st.Drafts)+len(st.Grants) != 0 {
		t.Fatalf("state before the birth: %+v", st)
	}
	now := a.state(mother, afterBirth.Format(time.RFC3339))
	if len(now.Situations) != 1 || len(now.Grants) != len(maria.grants()) || len(now.Drafts) != len(maria.drafts()) {
		t.Fatalf("state after the birth: %d situations, %d grants (cabinet %d), %d drafts (cabinet %d)",
			len(now.Situations), len(now.Grants), len(maria.grants()), len(now.Drafts), len(maria.drafts()))
	}

	// She confirms a draft: as of before, it was open; now it is confirmed.
	setClock(t, s, t0.Add(150*time.Minute))
	draft := maria.draftOf("child-allowance")
	if r := maria.call("POST", "/v1/me/drafts/"+draft.ID+"/confirm", map[string]any{}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	statusOf := func(st auditState) string {
		for _, d := range st.Drafts {
			if d.ID == draft.ID {
				return d.Status
			}
		}
		return "absent"
	}
	if got := statusOf(a.state(mother, afterBirth.Format(time.RFC3339))); got != "open" {
		t.Fatalf("the draft as of before the confirmation: %s", got)
	}
	if got := statusOf(a.state(mother, t0.Add(3*time.Hour).Format(time.RFC3339))); got != "confirmed" {
		t.Fatalf("the draft now: %s", got)
	}

	// Explanations: a grant, a draft, a rejection.
	var capital grantView
	for _, g := range maria.grants() {
		if g.Service == "maternity-capital" {
			capital = g
		}
	}
	var ex struct {
		Kind    string `json:"kind"`
		Trigger struct {
			Type   string `json:"type"`
			Source string `json:"source"`
		} `json:"trigger"`
		Situation struct{ Kind string } `json:"situation"`
		Step      struct {
			Service string `json:"service"`
		} `json:"step"`
		Outcome   string `json:"outcome"`
		Catalogue struct {
			Version string `json:"version"`
			Hash    string `json:"hash"`
		} `json:"catalogue"`
		Rules []struct {
			Rule   string `json:"rule"`
			Passed bool   `json:"passed"`
		} `json:"rules"`
		Parameters []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"parameters"`
		Facts map[string]any `json:"facts"`
		Grant *struct {
			EntryID string `json:"entry_id"`
		}
		CausalChain []struct {
			Role    string `json:"role"`
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		} `json:"causal_chain"`
	}
	a.json("/v1/audit/explain/"+capital.ID, &ex)
	def, _ := catalogue.Default()
	if ex.Kind != "grant" || ex.Trigger.Type != "birth.registered" || ex.Trigger.Source != civilStatus || ex.Situation.Kind != "birth-of-child" ||
		ex.Step.Service != "maternity-capital" || ex.Outcome != "granted" || ex.Catalogue.Version != def.Version() || ex.Catalogue.Hash != def.Hash() ||
		ex.Grant == nil || ex.Grant.EntryID != capital.EntryID || ex.Facts[mother] == nil {
		t.Fatalf("explanation of the maternity capital: %+v", ex)
	}
	if len(ex.Rules) == 0 || len(ex.Parameters) == 0 {
		t.Fatalf("the explanation lists no rule or parameter: %+v", ex)
	}
	if len(ex.CausalChain) < 3 || ex.CausalChain[0].Role != "trigger" || ex.CausalChain[0].EventID != evs[1].ID ||
		ex.CausalChain[1].Role != "opened" || ex.CausalChain[2].Role != "decided" {
		t.Fatalf("causal chain: %+v", ex.CausalChain)
	}
	text := a.get("/v1/audit/explain/" + capital.ID + "?format=text&lang=en")
	if text.status != 200 || !strings.HasPrefix(text.header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(text.body), "birth.registered") || !strings.Contains(string(text.body), def.Version()) {
		t.Fatalf("text explanation: %d %s", text.status, text.body)
	}
	ru := a.get("/v1/audit/explain/" + capital.ID + "?format=text")
	if !strings.Contains(string(ru.body), "Материнский капитал") && !strings.Contains(string(ru.body), "Почему") {
		t.Fatalf("Russian explanation: %s", ru.body)
	}

	a.json("/v1/audit/explain/"+draft.ID, &ex)
	roles := map[string]bool{}
	for _, l := range ex.CausalChain {
		roles[l.Role] = true
	}
	if ex.Kind != "draft" || ex.Outcome != "submitted" || !roles["confirmed"] {
		t.Fatalf("explanation of the confirmed draft: %+v", ex)
	}

	// The foreign mother's maternity capital was refused: its step id is
	// in her events, and the explanation says which rule failed.
	var rejected string
	for _, e := range a.events(foreigner, "") {
		var d situation.StepDecided
		if e.Type == situation.TypeStepDecided && json.Unmarshal(e.Data, &d) == nil && d.Decision.Outcome == catalogue.OutcomeRejected {
			rejected = d.StepID.String()
		}
	}
	if rejected == "" {
		t.Fatal("no rejection among the foreign mother's events")
	}
	a.json("/v1/audit/explain/"+rejected, &ex)
	failed := ""
	for _, r := range ex.Rules {
		if !r.Passed {
			failed = r.Rule
		}
	}
	if ex.Kind != "rejection" || failed != "citizen" {
		t.Fatalf("explanation of the rejection: kind %s, failed rule %q", ex.Kind, failed)
	}
	if r := a.get("/v1/audit/explain/" + uuid.NewString()); r.status != 404 {
		t.Fatalf("unknown id: %d", r.status)
	}

	// Every read above was recorded, visible to auditors: who, what, when.
	var acc struct {
		Items []struct {
			Type string `json:"type"`
			Data struct {
				Who, Role, What, Person, Target string
				Status                          int
			} `json:"data"`
		} `json:"items"`
	}
	a.json("/v1/audit/access?limit=1000", &acc)
	byWhat := map[string]int{}
	for _, it := range acc.Items {
		if it.Type != "access.audit_read" || it.Data.Who != "auditor-7" || it.Data.Role != "auditor" {
			t.Fatalf("access record: %+v", it)
		}
		byWhat[it.Data.What]++
	}
	if byWhat["GET /v1/audit/people/{id}/events"] < 5 || byWhat["GET /v1/audit/people/{id}/state"] < 4 || byWhat["GET /v1/audit/explain/{id}"] < 5 {
		t.Fatalf("reads recorded: %v", byWhat)
	}
	a.json("/v1/audit/access?person="+foreigner, &acc)
	if len(acc.Items) == 0 || acc.Items[0].Data.Person != foreigner {
		t.Fatalf("reads of the foreign mother's data: %+v", acc.Items)
	}
}

// copyCatalogue copies the embedded catalogue's directory and changes it:
// another version, another maternity capital amount from 2026.
func copyCatalogue(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := "../../domain/catalogue/default"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch e.Name() {
		case "catalogue.yaml":
			b = bytes.Replace(b, []byte(`version: "2026.11"`), []byte(`version: "2026.11-amended"`), 1)
		case "parameters.yaml":
			b = bytes.Replace(b, []byte("{valid_from: 2026-01-01, value: 728921.90}"), []byte("{valid_from: 2026-01-01, value: 750000.00}"), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := loadCatalogueDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Version() != "2026.11-amended" {
		t.Fatalf("the amended catalogue has version %s", cat.Version())
	}
	return dir
}

// verify runs `lifesituations audit verify --json` and returns its report
// and error. The verification must leave the log and the key store as it
// found them, byte for byte.
func verify(t *testing.T, data string, args ...string) (audit.Report, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	before := storetest.Files(t, data, embedded.FileName, keystore.Dir)
	err := run(context.Background(), append([]string{"audit", "verify", "--json", "--data", data}, args...), &out, &errOut)
	if after := storetest.Files(t, data, embedded.FileName, keystore.Dir); after != before {
		t.Errorf("audit verify wrote to the store:\nbefore %s\nafter  %s", before, after)
	}
	var rep audit.Report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("audit verify: %v (%v): %s %s", jerr, err, out.String(), errOut.String())
	}
	return rep, err
}

func TestAuditVerifyAcrossCatalogueVersionsAndForgery(t *testing.T) {
	amended := copyCatalogue(t)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := startServer(t, "--clock", "manual", "--clock-start", start.Format(time.RFC3339), "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	m1, m2 := personID(1), personID(2)
	send(t, s, population,
		registered(m1, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(m2, "Смирнова", "Анна", "1990-05-05", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 3", t0),
		// No decision reads her: her facts are left out of the replay's
		// register, unless --every-fact.
		registered(personID(3), "Козлова", "Ольга", "1970-07-07", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Лесная, д. 9", t0))
	send(t, s, civilStatus, born("birth-1", personID(11), m1, "2026-03-05", "770-2026-000001", t0))
	setClock(t, s, t0.Add(time.Hour))
	// A confirmed draft, decided by the agency a day later: its decisions
	// verify too.
	maria := signIn(t, s, m1)
	d := maria.draftOf("child-allowance")
	if r := maria.call("POST", "/v1/me/drafts/"+d.ID+"/confirm", map[string]any{}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	setClock(t, s, t0.Add(26*time.Hour))
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// The amended catalogue is published: the next birth is decided with it.
	s2 := restart(t, s, "--clock", "manual", "--catalogue", amended, "--agency-delay", "24h")
	t1 := t0.Add(48 * time.Hour)
	setClock(t, s2, t1)
	send(t, s2, civilStatus, born("birth-2", personID(12), m2, "2026-03-11", "770-2026-000002", t1))
	setClock(t, s2, t1.Add(time.Hour))
	amounts := map[string]any{}
	for _, m := range []string{m1, m2} {
		var out struct {
			Items []struct {
				Service string         `json:"service"`
				Details map[string]any `json:"details"`
			}
		}
		signIn(t, s2, m).get("/v1/me/grants", &out)
		for _, g := range out.Items {
			if g.Service == "maternity-capital" {
				amounts[m] = g.Details["amount"]
			}
		}
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
	if amounts[m1] != 728921.9 || amounts[m2] != 750000.0 {
		t.Fatalf("maternity capital: %v under the embedded catalogue, %v under the amended one", amounts[m1], amounts[m2])
	}

	// With the embedded catalogue only, the old decisions verify and the
	// new ones are unverifiable, which is not a divergence.
	rep, err := verify(t, s.data)
	if err != nil || !rep.OK() || rep.Verified == 0 || len(rep.Unverifiable) != 1 || rep.Unverifiable[0].Version != "2026.11-amended" {
		t.Fatalf("verify with the embedded catalogue: %v: %+v", err, rep)
	}
	// With the amended catalogue supplied, every decision verifies, each
	// against its own version.
	rep, err = verify(t, s.data, "--catalogue", amended)
	if err != nil || !rep.OK() || rep.Verified != rep.Decisions || len(rep.Unverifiable) != 0 || !rep.ChainChecked {
		t.Fatalf("verify with both catalogues: %v: %+v", err, rep)
	}
	perVersion := map[string]int{}
	for _, c := range rep.Catalogues {
		perVersion[c.Version] = c.Verified
		if !c.Published {
			t.Errorf("catalogue %s is not published in the log", c.Version)
		}
	}
	if perVersion["2026.11"] == 0 || perVersion["2026.11-amended"] == 0 {
		t.Fatalf("decisions verified per catalogue version: %v", perVersion)
	}
	if rep.FactsLeft != 1 || rep.RegisterPersons != 4 {
		t.Fatalf("the register folded %d persons' facts and left %d facts; want the mothers and their children's, and the stranger's one fact left",
			rep.RegisterPersons, rep.FactsLeft)
	}
	every, err := verify(t, s.data, "--catalogue", amended, "--every-fact")
	if err != nil || !every.OK() || every.Verified != rep.Verified || every.FactsLeft != 0 || every.RegisterPersons != 0 {
		t.Fatalf("verify --every-fact: %v: %+v", err, every)
	}

	// A forged decision appended straight to the store: the maternity
	// capital of the first birth recorded again with a higher amount.
	forged := forgeDecision(t, s.data, "maternity-capital")
	rep, err = verify(t, s.data, "--catalogue", amended)
	if err == nil || rep.OK() {
		t.Fatalf("the forgery verified: %+v", rep)
	}
	found := false
	for _, d := range rep.Divergences {
		if d.EventID == forged && d.Kind == audit.KindOrphan && len(d.Differences) > 0 {
			found = true
			t.Logf("reported: %s %s: %s %+v", d.Kind, d.Step, d.Detail, d.Differences)
		}
	}
	if !found || len(rep.Divergences) != 1 {
		t.Fatalf("the forged decision %s is not the one divergence reported: %+v", forged, rep.Divergences)
	}
	// The text report names it too, and the command fails.
	var out bytes.Buffer
	err = run(context.Background(), []string{"audit", "verify", "--data", s.data, "--catalogue", amended}, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "DIVERGENCE "+audit.KindOrphan) || !strings.Contains(out.String(), forged.String()) {
		t.Fatalf("text report: %v\n%s", err, out.String())
	}

	// A record deleted straight from the database file (the stranger's
	// registration, which no decision reads): the hash chain, checked in
	// the plan's read of the log, locates it.
	deleted := deleteRecord(t, s.data, personID(3))
	rep, err = verify(t, s.data, "--catalogue", amended)
	// The replay, reading the log after the chain, finds the gap too.
	if err == nil || len(rep.Integrity) != 2 || rep.Integrity[0].Position != deleted ||
		!strings.HasPrefix(rep.Integrity[0].Detail, "deleted:") || !rep.ChainChecked {
		t.Fatalf("the record deleted at %d: %v: %+v", deleted, err, rep.Integrity)
	}
	out.Reset()
	err = run(context.Background(), []string{"audit", "verify", "--data", s.data, "--catalogue", amended}, &out, io.Discard)
	if want := fmt.Sprintf("INTEGRITY position %d: deleted:", deleted); err == nil || !strings.Contains(out.String(), want) {
		t.Fatalf("text report, want %q: %v\n%s", want, err, out.String())
	}
}

// deleteRecord deletes from the store's database file, as someone with
// the file would, the first event whose data names person, and returns its
// position.
func deleteRecord(t *testing.T, data, person string) eventstore.Position {
	t.Helper()
	store, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(context.Background(), 0, eventstore.Filter{}, 10000)
	if cerr := store.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	for _, e := range evs {
		if !bytes.Contains(e.Data, []byte(person)) {
			continue
		}
		db, err := pebble.Open(filepath.Join(data, embedded.FileName), &pebble.Options{Logger: quietPebble{}})
		if err != nil {
			t.Fatal(err)
		}
		// A log record's key: 'l' and its position, big-endian.
		key := binary.BigEndian.AppendUint64([]byte{'l'}, e.Position)
		if err := db.Delete(key, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return e.Position
	}
	t.Fatalf("no event names %s", person)
	return 0
}

// quietPebble keeps Pebble's notes on opening a database out of the
// test's output.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)           {}
func (quietPebble) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// forgeDecision appends to the situation deciding service a copy of its
// decision with another amount, as someone writing to the store directly
// would, and returns the forged event's id.
func forgeDecision(t *testing.T, data, service string) uuid.UUID {
	t.Helper()
	store, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	evs, err := store.ReadAll(ctx, 0, eventstore.Filter{TypePrefixes: []string{situation.TypeStepDecided}}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var d situation.StepDecided
		if err := json.Unmarshal(e.Data, &d); err != nil || d.Decision.Service != service {
			continue
		}
		d.Decision.Prefill["amount"] = 999999.99
		raw, _ := json.Marshal(d)
		id := uuid.New()
		meta := e.Metadata
		meta.RecordedAt = time.Time{}
		if _, err := store.Append(ctx, e.Stream, eventstore.Any, eventstore.Event{
			ID: id, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: raw, Metadata: meta,
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	t.Fatalf("no %s decision to forge", service)
	return uuid.Nil
}

func TestVerifyProgressBarOnATerminalPlainLinesOtherwise(t *testing.T) {
	var plain bytes.Buffer
	p := newProgress(&plain)
	p.every = 0
	p.update("replay", 0, 100)
	p.started = p.started.Add(-2 * time.Second)
	p.update("replay", 50, 100)
	p.update("replay", 100, 100)
	p.done()
	if s := plain.String(); !strings.Contains(s, "replaying: 50% (50/100 events)") || !strings.Contains(s, "events/s") ||
		!strings.Contains(s, "left") || strings.Contains(s, "\r") {
		t.Fatalf("plain progress:\n%s", s)
	}
	var tty bytes.Buffer
	p = &progress{w: &tty, terminal: true}
	p.update("replay", 0, 100)
	p.started = p.started.Add(-2 * time.Second)
	p.update("replay", 50, 100)
	p.update("replay", 100, 100)
	p.done()
	if s := tty.String(); !strings.Contains(s, "\rreplaying") || !strings.Contains(s, "█") || !strings.Contains(s, "ev/s") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("terminal progress: %q", s)
	}
	// A phase told only at its end (the hash chain, checked beside the
	// plan) has no rate.
	plain.Reset()
	p = newProgress(&plain)
	p.update("chain", 100, 100)
	if s := plain.String(); s != "hash chain: 100% (100/100 events)\n" {
		t.Fatalf("a phase told at its end: %q", s)
	}
}
