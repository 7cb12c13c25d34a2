package main

import (
	"encoding/json"
	"testing"
	"time"
)

// entryView is a registry entry as a verifier reads it.
type entryView struct {
	Registry    string            `json:"registry"`
	EntryID     string            `json:"entry_id"`
	Service     string            `json:"service"`
	Title       map[string]string `json:"title"`
	Agency      string            `json:"agency"`
	Beneficiary string            `json:"beneficiary"`
	Status      string            `json:"status"`
	ValidFrom   time.Time         `json:"valid_from"`
	WithdrawnAt *time.Time        `json:"withdrawn_at"`
	ReplacedBy  *struct {
		Registry string `json:"registry"`
		EntryID  string `json:"entry_id"`
	} `json:"replaced_by"`
	LegalBasis string         `json:"legal_basis"`
	Details    map[string]any `json:"details"`
}

func TestRegistryVerificationThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	mother, child := personID(31), personID(32)
	send(t, s, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, s, tax, cloudEvent(tax, "inc-31", "income.reported", mother, t0,
		map[string]any{"person_id": mother, "year": 2025, "annual_income_rub": 120000}))
	send(t, s, civilStatus, born("birth-31", child, mother, "2026-03-05", "770-2026-000031", t0))
	setClock(t, s, t0.Add(time.Minute))

	maria := signIn(t, s, mother)
	grants := map[string]grantView{}
	for _, g := range maria.grants() {
		grants[g.Service] = g
	}
	// Tokens expire with the manual clock: each read gets a fresh one.
	agency := func(t *testing.T) string { return devToken(t, s, "agency", "urn:agency:sberbank") }
	read := func(t *testing.T, token, registry, entry string) response {
		t.Helper()
		return do(t, "GET", s.url+"/v1/registries/"+registry+"/entries/"+entry, token, "", nil)
	}
	entry := func(t *testing.T, token, registry, id string) entryView {
		t.Helper()
		r := read(t, token, registry, id)
		if r.status != 200 {
			t.Fatalf("entry %s/%s: %d %s", registry, id, r.status, r.body)
		}
		var e entryView
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("an automatic grant's entry answers what a verifier needs", func(t *testing.T) {
		g := grants["child-snils"]
		e := entry(t, agency(t), g.Registry, g.EntryID)
		if e.Registry != "snils" || e.EntryID != g.EntryID || e.Service != "child-snils" || e.Beneficiary != child ||
			e.Status != "valid" || !e.ValidFrom.Equal(t0) || e.WithdrawnAt != nil || e.ReplacedBy != nil ||
			e.LegalBasis == "" || e.Agency == "" || e.Title["en"] == "" {
			t.Errorf("entry = %+v", e)
		}
		if e.Details["birth_record_number"] != "770-2026-000031" || e.Details["birth_date"] != "2026-03-05" {
			t.Errorf("details = %v", e.Details)
		}
		// Only what a verifier needs: not the applicant, not the situation.
		r := read(t, agency(t), g.Registry, g.EntryID)
		var raw map[string]any
		_ = json.Unmarshal(r.body, &raw)
		for _, k := range []string{"applicant", "situation", "id", "draft_id", "curator"} {
			if _, ok := raw[k]; ok {
				t.Errorf("the entry tells %q: %s", k, r.body)
			}
		}
	})

	t.Run("a granted application's entry holds no payment or income data", func(t *testing.T) {
		maria := maria.in(t)
		d := maria.draftOf("child-allowance")
		body := map[string]any{"fields": map[string]any{"bank_account": "40817810000000000001", "bik": "044525225", "phone": "+79161234567"}}
		if r := maria.call("POST", "/v1/me/drafts/"+d.ID+"/confirm", body); r.status != 200 {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
		setClock(t, s, t0.Add(25*time.Hour))
		var g grantView
		for _, x := range maria.grants() {
			if x.Service == "child-allowance" {
				g = x
			}
		}
		e := entry(t, agency(t), g.Registry, g.EntryID)
		if e.Service != "child-allowance" || e.Status != "valid" || e.Details["child_id"] != child {
			t.Errorf("entry = %+v", e)
		}
		for _, k := range []string{"bank_account", "bik", "phone", "household", "per_capita_income", "subsistence_minimum"} {
			if _, ok := e.Details[k]; ok {
				t.Errorf("details tell %s: %v", k, e.Details)
			}
		}
	})

	t.Run("a withdrawn grant's entry says so, with the date", func(t *testing.T) {
		maria := maria.in(t)
		g := grants["kindergarten-queue"]
		if r := maria.call("POST", "/v1/me/grants/"+g.ID+"/withdraw", nil); r.status != 200 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		e := entry(t, agency(t), g.Registry, g.EntryID)
		if e.Status != "withdrawn" || e.WithdrawnAt == nil || !e.WithdrawnAt.Equal(t0.Add(25*time.Hour)) {
			t.Errorf("entry = %+v", e)
		}
	})

	t.Run("unknown entries are 404", func(t *testing.T) {
		g := grants["child-snils"]
		for _, c := range []struct{ registry, id string }{
			{"civil-status", g.EntryID},                       // another registry
			{"snils", "6f1c3c1e-0000-4000-8000-00000000ffff"}, // no such entry
			{"snils", "not-an-id"},
			{"snils", g.ID}, // the grant's id is not its entry's
		} {
			if r := read(t, agency(t), c.registry, c.id); r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s/%s: %d %s", c.registry, c.id, r.status, r.body)
			}
		}
	})

	t.Run("agencies and auditors only", func(t *testing.T) {
		g := grants["child-snils"]
		if r := read(t, devToken(t, s, "auditor", "auditor-1"), g.Registry, g.EntryID); r.status != 200 {
			t.Errorf("auditor: %d %s", r.status, r.body)
		}
		for _, role := range []string{"citizen", "operator", "registry"} {
			subject := "x"
			if role == "citizen" {
				subject = mother
			}
			if r := read(t, devToken(t, s, role, subject), g.Registry, g.EntryID); r.status != 403 {
				t.Errorf("%s: %d, want 403", role, r.status)
			}
		}
		if r := read(t, "", g.Registry, g.EntryID); r.status != 401 {
			t.Errorf("no token: %d, want 401", r.status)
		}
	})

	t.Run("every read is recorded for auditors", func(t *testing.T) {
		auditor := devToken(t, s, "auditor", "auditor-2")
		r := do(t, "GET", s.url+"/v1/audit/access?limit=1000", auditor, "", nil)
		if r.status != 200 {
			t.Fatalf("access: %d %s", r.status, r.body)
		}
		var list struct {
			Items []struct {
				Type string `json:"type"`
				Data struct {
					Who, Role, Person, Target, What string
					Status                          int
				} `json:"data"`
			} `json:"items"`
		}
		if err := json.Unmarshal(r.body, &list); err != nil {
			t.Fatal(err)
		}
		found, missing, byAuditor := 0, 0, 0
		for _, it := range list.Items {
			if it.Type != "access.registry_entry_read" {
				continue
			}
			d := it.Data
			switch {
			case d.Status == 200 && d.Role == "agency":
				found++
				if d.Who != "urn:agency:sberbank" || d.Person != child || d.What != "GET /v1/registries/{registry}/entries/{entry_id}" {
					t.Errorf("a read of the child's entry is recorded as %+v", d)
				}
			case d.Status == 404:
				missing++
			case d.Status == 200 && d.Role == "auditor":
				byAuditor++
			}
		}
		// Two reads of the SNILS entry, one of the allowance's, one of the
		// queue's; four unknown entries; the auditor's read.
		if found != 4 || missing != 4 || byAuditor != 1 {
			t.Errorf("recorded reads: %d found, %d missing, %d by the auditor; want 4, 4, 1: %s", found, missing, byAuditor, r.body)
		}
	})
}
