package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// These tests drive the proactive core through the HTTP API alone, as a
// registry, a citizen and the development clock would: CONTRACT.md
// sections 1-3 and 5.

const (
	population  = "urn:registry:population"
	civilStatus = "urn:registry:civil-status"
	tax         = "urn:registry:tax"
)

func personID(n int) string { return fmt.Sprintf("7e57ab1e-0000-4000-8000-%012d", n) }

// cloudEvent is one registry event in CloudEvents JSON.
func cloudEvent(source, id, typ, subject string, at time.Time, data map[string]any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": source, "type": typ,
		"time": at.Format(time.RFC3339), "subject": subject, "data": data}
}

func registered(id, family, given, birth, sex, citizenship, region, zone, address string, at time.Time) map[string]any {
	return cloudEvent(population, "reg-"+id, "person.registered", id, at, map[string]any{
		"person_id": id, "family_name": family, "given_name": given, "birth_date": birth, "sex": sex,
		"citizenship": citizenship, "region": region, "time_zone": zone, "address": address,
	})
}

func born(eventID, child, mother, birth, record string, at time.Time) map[string]any {
	return cloudEvent(civilStatus, eventID, "birth.registered", child, at, map[string]any{
		"record_number": record, "child_id": child, "child_family_name": "Иванов", "child_given_name": "Пётр",
		"birth_date": birth, "sex": "M", "mother_id": mother, "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Москва, ул. Тверская, д. 1, кв. 5",
	})
}

// send posts a batch of one registry's events and wants them accepted.
func send(t *testing.T, s *server, source string, events ...map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(events)
	r := do(t, "POST", s.url+"/v1/events", devToken(t, s, "registry", source), "application/cloudevents-batch+json", body)
	if r.status != 202 {
		t.Fatalf("events from %s: want 202, got %d %s", source, r.status, r.body)
	}
	return r.json(t)
}

// setClock moves the manual clock; the answer comes once every
// consequence is visible.
func setClock(t *testing.T, s *server, now time.Time) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"now": now.Format(time.RFC3339)})
	if r := do(t, "POST", s.url+"/v1/dev/clock", "", "application/json", body); r.status != 200 {
		t.Fatalf("clock to %s: %d %s", now, r.status, r.body)
	}
}

// citizen is a person reading their cabinet. Each call signs in afresh:
// development tokens expire, and the tests move the clock by months.
type citizen struct {
	t  *testing.T
	s  *server
	id string
}

func signIn(t *testing.T, s *server, person string) citizen {
	return citizen{t: t, s: s, id: person}
}

// in is the same citizen reporting to another (sub)test.
func (c citizen) in(t *testing.T) citizen { c.t = t; return c }

func (c citizen) call(method, path string, body any) response {
	c.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return do(c.t, method, c.s.url+path, devToken(c.t, c.s, "citizen", c.id), "application/json", b)
}

func (c citizen) get(path string, out any) {
	c.t.Helper()
	r := c.call("GET", path, nil)
	if r.status != 200 {
		c.t.Fatalf("GET %s as %s: %d %s", path, c.id, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, r.body)
	}
}

type reason struct {
	Text       map[string]string `json:"text"`
	LegalBasis string            `json:"legal_basis"`
}

type step struct {
	Service  string   `json:"service"`
	Outcome  string   `json:"outcome"`
	Reasons  []reason `json:"reasons"`
	DraftID  string   `json:"draft_id"`
	GrantID  string   `json:"grant_id"`
	Deadline string   `json:"deadline"`
	Curator  struct {
		Name   string `json:"name"`
		Agency string `json:"agency"`
	} `json:"curator"`
}

type situationView struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Steps  []step `json:"steps"`
}

type draftView struct {
	ID       string         `json:"id"`
	Service  string         `json:"service"`
	Status   string         `json:"status"`
	Prefill  map[string]any `json:"prefill"`
	Editable []string       `json:"editable"`
	Deadline string         `json:"deadline"`
}

type grantView struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Registry string `json:"registry"`
	EntryID  string `json:"entry_id"`
	Status   string `json:"status"`
}

type notificationView struct {
	Kind     string `json:"kind"`
	Service  string `json:"service"`
	Outcome  string `json:"outcome"`
	Deadline string `json:"deadline"`
}

func (c citizen) situations() []situationView {
	var out struct{ Items []situationView }
	c.get("/v1/me/situations", &out)
	return out.Items
}

func (c citizen) drafts() []draftView {
	var out struct{ Items []draftView }
	c.get("/v1/me/drafts", &out)
	return out.Items
}

func (c citizen) grants() []grantView {
	var out struct{ Items []grantView }
	c.get("/v1/me/grants", &out)
	return out.Items
}

func (c citizen) notifications() []notificationView {
	var out struct{ Items []notificationView }
	c.get("/v1/me/notifications", &out)
	return out.Items
}

// stepsOf is the one situation of that kind, by service.
func (c citizen) stepsOf(kind string) map[string]step {
	c.t.Helper()
	var found []situationView
	for _, s := range c.situations() {
		if s.Kind == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("%s has %d %s situations, want 1: %+v", c.id, len(found), kind, found)
	}
	steps := map[string]step{}
	for _, st := range found[0].Steps {
		steps[st.Service] = st
	}
	return steps
}

func (c citizen) draftOf(service string) draftView {
	c.t.Helper()
	for _, d := range c.drafts() {
		if d.Service == service {
			return d
		}
	}
	c.t.Fatalf("%s has no %s draft", c.id, service)
	return draftView{}
}

func wantOutcomes(t *testing.T, steps map[string]step, want map[string]string) {
	t.Helper()
	for service, outcome := range want {
		if got := steps[service].Outcome; got != outcome {
			t.Errorf("%s: outcome %q, want %q (reasons %+v)", service, got, outcome, steps[service].Reasons)
		}
	}
	if len(steps) != len(want) {
		t.Errorf("%d steps, want %d: %+v", len(steps), len(want), steps)
	}
}

func TestBirthOfChildThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	mother, father, foreigner, stranger := personID(1), personID(2), personID(3), personID(4)
	send(t, s, population,
		registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(father, "Иванов", "Алексей", "1992-07-15", "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0),
		registered(foreigner, "Сейткали", "Айгерим", "1996-09-09", "F", "KZ", "RU-SPE", "Europe/Moscow", "Санкт-Петербург, Невский пр., д. 20", t0),
		registered(stranger, "Петров", "Пётр", "1980-01-01", "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 2", t0),
	)
	// A low income: 120,000 a year for a household of two is far below the
	// Moscow subsistence minimum, so the allowance is drafted.
	send(t, s, tax, cloudEvent(tax, "inc-1", "income.reported", mother, t0,
		map[string]any{"person_id": mother, "year": 2025, "annual_income_rub": 120000}))

	child, foreignChild, oldChild := personID(11), personID(12), personID(13)
	birth := born("birth-1", child, mother, "2026-03-05", "770-2026-000001", t0)
	send(t, s, civilStatus, birth, born("birth-2", foreignChild, foreigner, "2026-03-06", "780-2026-000002", t0))
	setClock(t, s, t0.Add(time.Minute))

	maria := signIn(t, s, mother)
	steps := maria.stepsOf("birth-of-child")
	wantOutcomes(t, steps, map[string]string{
		"birth-certificate": "granted", "child-snils": "granted", "maternity-capital": "granted",
		"child-allowance": "drafted", "child-health-insurance": "drafted", "residence-registration": "drafted",
		"kindergarten-queue": "granted",
	})
	for service, st := range steps {
		if st.Curator.Name == "" || st.Curator.Agency == "" {
			t.Errorf("%s names no curator", service)
		}
		if (st.Outcome == "granted") != (st.GrantID != "") || (st.Outcome == "drafted") != (st.DraftID != "") {
			t.Errorf("%s: outcome %s with grant %q draft %q", service, st.Outcome, st.GrantID, st.DraftID)
		}
	}

	// Every grant is an entry in a registry.
	grants := maria.grants()
	if len(grants) != 4 {
		t.Fatalf("want 4 grants, got %+v", grants)
	}
	for _, g := range grants {
		if g.Registry == "" || g.EntryID == "" {
			t.Errorf("grant %s has no registry entry: %+v", g.Service, g)
		}
	}

	// The residence registration is pre-filled with the mother's address.
	reg := maria.draftOf("residence-registration")
	if reg.Prefill["address"] != "Москва, ул. Тверская, д. 1, кв. 5" || reg.Deadline == "" {
		t.Errorf("residence-registration: prefill %v deadline %q", reg.Prefill, reg.Deadline)
	}

	// The same birth reported again opens nothing new.
	if got := send(t, s, civilStatus, birth); got["duplicates"] != 1.0 {
		t.Errorf("resent birth: %v", got)
	}
	setClock(t, s, t0.Add(2*time.Minute))
	maria.stepsOf("birth-of-child")

	t.Run("operators see the situations opened", func(t *testing.T) {
		m := string(do(t, "GET", s.url+"/metrics", "", "", nil).body)
		for _, want := range []string{
			`lifesituations_saga_situations_opened_total{kind="birth-of-child"} 2`,
			"lifesituations_saga_dead_letters_total 0",
			"lifesituations_saga_lag_events 0",
			"lifesituations_saga_router_handler_execution_time_seconds",
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})

	t.Run("a foreign mother is refused maternity capital with the reason", func(t *testing.T) {
		steps := signIn(t, s, foreigner).stepsOf("birth-of-child")
		mc := steps["maternity-capital"]
		if mc.Outcome != "rejected" || len(mc.Reasons) == 0 || mc.Reasons[0].LegalBasis == "" || mc.Reasons[0].Text["en"] == "" {
			t.Errorf("maternity-capital: %+v", mc)
		}
	})

	t.Run("corrections are validated, field by field", func(t *testing.T) {
		maria := maria.in(t)
		allowance := maria.draftOf("child-allowance")
		r := maria.call("POST", "/v1/me/drafts/"+allowance.ID+"/confirm", map[string]any{"fields": map[string]any{"bank_account": "123"}})
		if r.status != 400 || !strings.Contains(string(r.body), `"/fields/bank_account"`) {
			t.Errorf("bad bank account: want 400 naming /fields/bank_account, got %d %s", r.status, r.body)
		}
		r = maria.call("POST", "/v1/me/drafts/"+allowance.ID+"/confirm", map[string]any{"fields": map[string]any{"income": 0}})
		if r.status != 400 || !strings.Contains(string(r.body), `"/fields/income"`) {
			t.Errorf("a field that is not editable: want 400 naming /fields/income, got %d %s", r.status, r.body)
		}
		if d := maria.draftOf("child-allowance"); d.Status != "open" {
			t.Errorf("a refused confirmation changed the draft: %+v", d)
		}
	})

	t.Run("a confirmed draft is submitted, then the agency decides", func(t *testing.T) {
		maria := maria.in(t)
		ins := maria.draftOf("child-health-insurance")
		body := map[string]any{"fields": map[string]any{"insurer": "АО «СОГАЗ-Мед»"}}
		r := maria.call("POST", "/v1/me/drafts/"+ins.ID+"/confirm", body)
		if r.status != 200 || r.json(t)["status"] != "confirmed" {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
		again := maria.call("POST", "/v1/me/drafts/"+ins.ID+"/confirm", body)
		if again.status != 200 || again.json(t)["status"] != "confirmed" {
			t.Errorf("repeated confirm: want the same draft, got %d %s", again.status, again.body)
		}
		if got := maria.stepsOf("birth-of-child")["child-health-insurance"].Outcome; got != "submitted" {
			t.Errorf("after confirm: outcome %q, want submitted", got)
		}
		setClock(t, s, t0.Add(23*time.Hour))
		if got := maria.stepsOf("birth-of-child")["child-health-insurance"].Outcome; got != "submitted" {
			t.Errorf("before the agency's delay: outcome %q, want submitted", got)
		}
		setClock(t, s, t0.Add(25*time.Hour))
		st := maria.stepsOf("birth-of-child")["child-health-insurance"]
		if st.Outcome != "granted" || st.GrantID == "" {
			t.Errorf("after the agency's delay: %+v", st)
		}
	})

	t.Run("a declined draft cannot be confirmed", func(t *testing.T) {
		maria := maria.in(t)
		reg := maria.draftOf("residence-registration")
		r := maria.call("POST", "/v1/me/drafts/"+reg.ID+"/decline", map[string]any{"reason": "we live elsewhere"})
		if r.status != 200 || r.json(t)["status"] != "declined" {
			t.Fatalf("decline: %d %s", r.status, r.body)
		}
		if r := maria.call("POST", "/v1/me/drafts/"+reg.ID+"/confirm", nil); r.status != 409 {
			t.Errorf("confirm after decline: want 409, got %d %s", r.status, r.body)
		}
		if got := maria.stepsOf("birth-of-child")["residence-registration"].Outcome; got != "declined" {
			t.Errorf("outcome %q, want declined", got)
		}
	})

	t.Run("the mother opts out of the kindergarten queue", func(t *testing.T) {
		maria := maria.in(t)
		gid := maria.stepsOf("birth-of-child")["kindergarten-queue"].GrantID
		if r := maria.call("POST", "/v1/me/grants/"+gid+"/withdraw", nil); r.status != 200 {
			t.Fatalf("withdraw: %d %s", r.status, r.body)
		}
		if got := maria.stepsOf("birth-of-child")["kindergarten-queue"].Outcome; got != "withdrawn" {
			t.Errorf("outcome %q, want withdrawn", got)
		}
		snils := maria.stepsOf("birth-of-child")["child-snils"].GrantID
		if r := maria.call("POST", "/v1/me/grants/"+snils+"/withdraw", nil); r.status != 409 {
			t.Errorf("withdrawing a grant without opt-out: want 409, got %d %s", r.status, r.body)
		}
	})

	t.Run("nobody else sees the mother's cabinet", func(t *testing.T) {
		maria := maria.in(t)
		other := signIn(t, s, stranger)
		id := maria.draftOf("child-allowance").ID
		for _, path := range []string{"/v1/me/drafts/" + id, "/v1/me/drafts/" + id + "/confirm"} {
			method := "GET"
			if strings.HasSuffix(path, "confirm") {
				method = "POST"
			}
			if r := other.call(method, path, nil); r.status != 404 {
				t.Errorf("%s %s as a stranger: want 404, got %d", method, path, r.status)
			}
		}
		if n := len(other.situations()); n != 0 {
			t.Errorf("a stranger sees %d situations", n)
		}
	})

	t.Run("a birth older than the window updates the register and opens nothing", func(t *testing.T) {
		send(t, s, civilStatus, born("birth-old", oldChild, stranger, "2025-06-01", "770-2025-000009", t0))
		setClock(t, s, t0.Add(26*time.Hour))
		if n := len(signIn(t, s, stranger).situations()); n != 0 {
			t.Errorf("an old birth opened %d situations", n)
		}
	})
}

func TestAgeMilestoneThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	// She turns 45 on 12 March 2026 at midnight in Novosibirsk (UTC+7),
	// which is 17:00 UTC on 11 March.
	olga, ivan := personID(21), personID(22)
	send(t, s, population,
		registered(olga, "Смирнова", "Ольга", "1981-03-12", "F", "RU", "RU-NVS", "Asia/Novosibirsk", "Новосибирск, Красный пр., д. 3", t0),
		// He turned 14 a month ago, before he was registered: still inside
		// the 90-day window, so his first passport is drafted at once.
		registered(ivan, "Кузнецов", "Иван", "2012-02-10", "M", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 4", t0),
	)
	setClock(t, s, t0.Add(time.Minute))
	if d := signIn(t, s, ivan).draftOf("passport-issue"); d.Deadline != "2026-05-11" {
		t.Errorf("late registration: passport-issue deadline %q, want 2026-05-11", d.Deadline)
	}

	o := signIn(t, s, olga)
	setClock(t, s, time.Date(2026, 3, 11, 16, 59, 0, 0, time.UTC))
	if n := len(o.situations()); n != 0 {
		t.Fatalf("before local midnight: %d situations", n)
	}
	setClock(t, s, time.Date(2026, 3, 11, 17, 0, 0, 0, time.UTC))
	steps := o.stepsOf("age-milestone")
	wantOutcomes(t, steps, map[string]string{"passport-replacement": "drafted"})
	d := o.draftOf("passport-replacement")
	if d.Deadline != "2026-06-10" || d.Status != "open" {
		t.Errorf("draft: deadline %q status %q, want 2026-06-10 open", d.Deadline, d.Status)
	}

	reminders := func() int {
		n := 0
		for _, x := range o.notifications() {
			if x.Kind == "reminder" && x.Service == "passport-replacement" {
				n++
			}
		}
		return n
	}
	// Reminders on days 30 and 60 of the deadline, in her time zone.
	setClock(t, s, time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC))
	if n := reminders(); n != 0 {
		t.Errorf("day 29: %d reminders", n)
	}
	setClock(t, s, time.Date(2026, 4, 11, 12, 0, 0, 0, time.UTC))
	if n := reminders(); n != 1 {
		t.Errorf("day 30: %d reminders, want 1", n)
	}
	setClock(t, s, time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC))
	if n := reminders(); n != 2 {
		t.Errorf("day 60: %d reminders, want 2", n)
	}
	// The last day is 10 June; on 11 June, her time, the draft expires and
	// she is told her passport is no longer valid.
	setClock(t, s, time.Date(2026, 6, 10, 16, 0, 0, 0, time.UTC))
	if d := o.draftOf("passport-replacement"); d.Status != "open" {
		t.Errorf("on the last day: status %q, want open", d.Status)
	}
	setClock(t, s, time.Date(2026, 6, 10, 17, 0, 0, 0, time.UTC))
	if d := o.draftOf("passport-replacement"); d.Status != "expired" {
		t.Errorf("after the deadline: status %q, want expired", d.Status)
	}
	steps = o.stepsOf("age-milestone")
	if steps["passport-replacement"].Outcome != "expired" || steps["passport-expired"].Outcome != "notified" {
		t.Errorf("after the deadline: %+v", steps)
	}
	if r := o.call("POST", "/v1/me/drafts/"+d.ID+"/confirm", nil); r.status != 409 {
		t.Errorf("confirm an expired draft: want 409, got %d %s", r.status, r.body)
	}
	var newest notificationView
	if ns := o.notifications(); len(ns) > 0 {
		newest = ns[0]
	}
	if newest.Service != "passport-expired" && newest.Service != "passport-replacement" {
		t.Errorf("newest notification: %+v", newest)
	}
}
