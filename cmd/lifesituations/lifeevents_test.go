package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests drive the move, marriage and bereavement situations, the
// means test of the child allowance and their interactions through the
// HTTP API alone, with the manual clock (CONTRACT.md sections 1-3, issue 5).

const residenceRegistry = "urn:registry:residence"

// --- registry events ---------------------------------------------------------

// resident is someone the population register reports.
type resident struct {
	id, family, given, birth, sex, citizenship, region, zone, address string
}

func (p resident) registered(at time.Time) map[string]any {
	return registered(p.id, p.family, p.given, p.birth, p.sex, p.citizenship, p.region, p.zone, p.address, at)
}

func muscovite(id, family, given, birth, sex string) resident {
	return resident{id: id, family: family, given: given, birth: birth, sex: sex, citizenship: "RU",
		region: "RU-MOW", zone: "Europe/Moscow", address: "Москва, ул. Тверская, д. 1, кв. " + id[len(id)-2:]}
}

// birthOf is a birth.registered with a father when father is not empty.
func birthOf(eventID, child, given, mother, father, birth, region string, at time.Time) map[string]any {
	data := map[string]any{
		"record_number": "R-" + eventID, "child_id": child, "child_family_name": "Кузнецов", "child_given_name": given,
		"birth_date": birth, "sex": "M", "mother_id": mother, "region": region,
		"time_zone": "Europe/Moscow", "address": "Москва, ул. Тверская, д. 1, кв. 5",
	}
	if father != "" {
		data["father_id"] = father
	}
	return cloudEvent(civilStatus, eventID, "birth.registered", child, at, data)
}

func moveOf(eventID, who, from, to, address, effective string, at time.Time) map[string]any {
	return cloudEvent(residenceRegistry, eventID, "residence.changed", who, at, map[string]any{
		"person_id": who, "from_region": from, "to_region": to, "address": address,
		"time_zone": "Europe/Moscow", "effective_date": effective,
	})
}

func marriageOf(eventID, a, b, date string, newNames map[string]string, at time.Time) map[string]any {
	data := map[string]any{"record_number": "M-" + eventID, "spouse_ids": []string{a, b}, "date": date}
	if newNames != nil {
		data["new_family_names"] = newNames
	}
	return cloudEvent(civilStatus, eventID, "marriage.registered", a, at, data)
}

func deathOf(eventID, who, date, informant string, at time.Time) map[string]any {
	return cloudEvent(civilStatus, eventID, "death.registered", who, at, map[string]any{
		"record_number": "D-" + eventID, "person_id": who, "date_of_death": date,
		"informant_id": informant, "region": "RU-MOW",
	})
}

func incomeOf(eventID, who string, year int, rub float64, at time.Time) map[string]any {
	return cloudEvent(tax, eventID, "income.reported", who, at,
		map[string]any{"person_id": who, "year": year, "annual_income_rub": rub})
}

// --- the cabinet, seen in full -----------------------------------------------

// fullStep is a step with whom it is for.
type fullStep struct {
	step
	Applicant   string `json:"applicant"`
	Beneficiary string `json:"beneficiary"`
}

type fullSituation struct {
	ID     string     `json:"id"`
	Kind   string     `json:"kind"`
	Status string     `json:"status"`
	Steps  []fullStep `json:"steps"`
}

type fullDraft struct {
	draftView
	Situation     string `json:"situation"`
	SituationKind string `json:"situation_kind"`
	Applicant     string `json:"applicant"`
	Beneficiary   string `json:"beneficiary"`
	Outcome       string `json:"outcome"`
}

type fullGrant struct {
	grantView
	Situation     string         `json:"situation"`
	SituationKind string         `json:"situation_kind"`
	Beneficiary   string         `json:"beneficiary"`
	Details       map[string]any `json:"details"`
}

type fullNotification struct {
	notificationView
	SituationKind string            `json:"situation_kind"`
	Text          map[string]string `json:"text"`
}

func (c citizen) allSituations() []fullSituation {
	var out struct{ Items []fullSituation }
	c.get("/v1/me/situations", &out)
	return out.Items
}

// situationOf is the one situation of that kind the citizen sees.
func (c citizen) situationOf(kind string) fullSituation {
	c.t.Helper()
	var found []fullSituation
	for _, s := range c.allSituations() {
		if s.Kind == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("%s sees %d %s situations, want 1: %+v", c.id, len(found), kind, found)
	}
	return found[0]
}

func (c citizen) kinds() []string {
	var out []string
	for _, s := range c.allSituations() {
		out = append(out, s.Kind)
	}
	slices.Sort(out)
	return out
}

func (c citizen) allDrafts() []fullDraft {
	var out struct{ Items []fullDraft }
	c.get("/v1/me/drafts", &out)
	return out.Items
}

func (c citizen) allGrants() []fullGrant {
	var out struct{ Items []fullGrant }
	c.get("/v1/me/grants", &out)
	return out.Items
}

func (c citizen) allNotifications() []fullNotification {
	var out struct{ Items []fullNotification }
	c.get("/v1/me/notifications", &out)
	return out.Items
}

// draftIn is the one draft of service in a situation of that kind.
func (c citizen) draftIn(kind, service string) fullDraft {
	c.t.Helper()
	var found []fullDraft
	for _, d := range c.allDrafts() {
		if d.SituationKind == kind && d.Service == service {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("%s has %d %s drafts in %s, want 1: %+v", c.id, len(found), service, kind, found)
	}
	return found[0]
}

func (c citizen) confirm(draft string, fields map[string]any) fullDraft {
	c.t.Helper()
	var body any
	if fields != nil {
		body = map[string]any{"fields": fields}
	}
	r := c.call("POST", "/v1/me/drafts/"+draft+"/confirm", body)
	if r.status != 200 {
		c.t.Fatalf("confirm %s: %d %s", draft, r.status, r.body)
	}
	var d fullDraft
	if err := json.Unmarshal(r.body, &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

// stepLines lists a situation's steps as "service outcome" (with the
// beneficiary when it is not the applicant), sorted.
func stepLines(s fullSituation) []string {
	var out []string
	for _, st := range s.Steps {
		line := st.Service + " " + st.Outcome
		if st.Beneficiary != "" && st.Beneficiary != st.Applicant {
			line += " for " + st.Beneficiary
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func wantLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	got = slices.Sorted(slices.Values(got))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func reasonTexts(st fullStep) string {
	var b strings.Builder
	for _, r := range st.Reasons {
		b.WriteString(r.Text["en"] + " | " + r.Text["ru"] + " | " + r.LegalBasis + "\n")
	}
	return b.String()
}

func stepsOfService(s fullSituation, service string) []fullStep {
	var out []fullStep
	for _, st := range s.Steps {
		if st.Service == service {
			out = append(out, st)
		}
	}
	return out
}

// --- move --------------------------------------------------------------------

func TestMoveThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	anna := muscovite(personID(101), "Кузнецова", "Анна", "1985-05-05", "F")
	boris := muscovite(personID(102), "Белов", "Борис", "1979-08-08", "M")
	teen := resident{id: personID(103), family: "Юрьев", given: "Юрий", birth: "2009-06-01", sex: "M", citizenship: "RU",
		region: "RU-TAT", zone: "Europe/Moscow", address: "Казань, ул. Баумана, д. 1"}
	alien := resident{id: personID(104), family: "Ахметов", given: "Нурлан", birth: "2009-01-01", sex: "M", citizenship: "KZ",
		region: "RU-SPE", zone: "Europe/Moscow", address: "Санкт-Петербург, Невский пр., д. 5"}
	send(t, s, population, anna.registered(t0), boris.registered(t0), teen.registered(t0), alien.registered(t0))

	// Anna's children on the day of the move (5 March 2026): 6, exactly 7,
	// 17 (18 the next day), exactly 18, and a 12-year-old who has died.
	six, seven, seventeen, eighteen, deadChild := personID(111), personID(112), personID(113), personID(114), personID(115)
	send(t, s, civilStatus,
		birthOf("m-b1", six, "Шестой", anna.id, "", "2019-06-01", "RU-MOW", t0),
		birthOf("m-b2", seven, "Седьмой", anna.id, "", "2019-03-05", "RU-MOW", t0),
		birthOf("m-b3", seventeen, "Семнадцатый", anna.id, "", "2008-03-06", "RU-MOW", t0),
		birthOf("m-b4", eighteen, "Восемнадцатый", anna.id, "", "2008-03-05", "RU-MOW", t0),
		birthOf("m-b5", deadChild, "Ушедший", anna.id, "", "2014-01-01", "RU-MOW", t0),
	)
	send(t, s, civilStatus, deathOf("m-d5", deadChild, "2025-01-01", anna.id, t0))
	setClock(t, s, t0.Add(time.Minute))
	// Births long past open nothing; the old death opens nothing either.
	if k := signIn(t, s, anna.id).kinds(); len(k) != 0 {
		t.Fatalf("before the move Anna has situations %v", k)
	}

	spb := "Санкт-Петербург, ул. Рубинштейна, д. 7, кв. 3"
	send(t, s, residenceRegistry,
		moveOf("mv-anna", anna.id, "RU-MOW", "RU-SPE", spb, "2026-03-05", t0),
		moveOf("mv-boris", boris.id, "RU-MOW", "RU-MOW", "Москва, ул. Арбат, д. 10, кв. 1", "2026-03-06", t0),
		moveOf("mv-teen", teen.id, "RU-TAT", "RU-MOW", "Москва, ул. Покровка, д. 2", "2026-03-06", t0),
		moveOf("mv-alien", alien.id, "RU-SPE", "RU-SPE", "Санкт-Петербург, Литейный пр., д. 9", "2026-03-06", t0),
	)
	setClock(t, s, t0.Add(2*time.Minute))

	t.Run("to another region: every step, one school transfer per child aged 7 to 17", func(t *testing.T) {
		a := signIn(t, s, anna.id)
		move := a.situationOf("move")
		wantLines(t, "Anna's move", stepLines(move),
			"clinic-attachment drafted", "health-insurance-update drafted", "tax-office-transfer granted",
			"voter-registration-update granted",
			"school-transfer drafted for "+seven, "school-transfer drafted for "+seventeen)
		for _, st := range move.Steps {
			if st.Curator.Name == "" || st.Curator.Agency == "" {
				t.Errorf("%s names no curator", st.Service)
			}
			if st.Applicant != anna.id {
				t.Errorf("%s: applicant %s, want Anna", st.Service, st.Applicant)
			}
		}
		clinic := a.draftIn("move", "clinic-attachment")
		if clinic.Prefill["address"] != spb || clinic.Prefill["region"] != "RU-SPE" || clinic.Prefill["family_name"] != "Кузнецова" {
			t.Errorf("clinic-attachment prefill %v", clinic.Prefill)
		}
		// Deadlines count from the day the situation opens (10 March).
		if clinic.Deadline != "2026-06-08" {
			t.Errorf("clinic-attachment deadline %s, want 2026-06-08", clinic.Deadline)
		}
		ins := a.draftIn("move", "health-insurance-update")
		if ins.Prefill["from_region"] != "RU-MOW" || ins.Prefill["to_region"] != "RU-SPE" || ins.Deadline != "2026-04-09" {
			t.Errorf("health-insurance-update: prefill %v deadline %s", ins.Prefill, ins.Deadline)
		}
		for _, d := range a.allDrafts() {
			if d.Service != "school-transfer" {
				continue
			}
			if d.Prefill["child_id"] != d.Beneficiary || d.Prefill["region"] != "RU-SPE" || d.Prefill["address"] != spb || d.Deadline != "2026-04-09" {
				t.Errorf("school-transfer draft %+v", d)
			}
			if !slices.Contains(d.Editable, "school") || !slices.Contains(d.Editable, "grade") {
				t.Errorf("school-transfer editable %v", d.Editable)
			}
		}
		var tax fullGrant
		for _, g := range a.allGrants() {
			if g.Service == "tax-office-transfer" {
				tax = g
			}
		}
		if tax.Registry != "taxpayers" || tax.EntryID == "" || tax.Details["to_region"] != "RU-SPE" {
			t.Errorf("tax-office-transfer grant %+v", tax)
		}

		// A school transfer is confirmed with the school and grade; a
		// wrong grade is refused field by field.
		d := a.allDrafts()
		var school fullDraft
		for _, x := range d {
			if x.Service == "school-transfer" && x.Beneficiary == seven {
				school = x
			}
		}
		r := a.call("POST", "/v1/me/drafts/"+school.ID+"/confirm", map[string]any{"fields": map[string]any{"grade": 12}})
		if r.status != 400 || !strings.Contains(string(r.body), `"/fields/grade"`) {
			t.Errorf("grade 12: want 400 naming /fields/grade, got %d %s", r.status, r.body)
		}
		if got := a.confirm(school.ID, map[string]any{"school": "ГБОУ школа № 239", "grade": 1}); got.Status != "confirmed" {
			t.Errorf("confirmed school transfer: %+v", got)
		}
	})

	t.Run("within one region: only the steps that apply", func(t *testing.T) {
		wantLines(t, "Boris's move", stepLines(signIn(t, s, boris.id).situationOf("move")),
			"clinic-attachment drafted", "voter-registration-update granted")
	})

	t.Run("voter registration only for a citizen of RU aged 18", func(t *testing.T) {
		move := signIn(t, s, teen.id).situationOf("move")
		wantLines(t, "the teenager's move", stepLines(move),
			"clinic-attachment drafted", "health-insurance-update drafted", "tax-office-transfer granted",
			"voter-registration-update rejected")
		voter := stepsOfService(move, "voter-registration-update")[0]
		if len(voter.Reasons) != 1 || !strings.Contains(voter.Reasons[0].Text["en"], "under 18") || voter.Reasons[0].LegalBasis == "" {
			t.Errorf("the teenager's voter registration: %s", reasonTexts(voter))
		}
		// A foreign minor fails both criteria, and both are given.
		move = signIn(t, s, alien.id).situationOf("move")
		wantLines(t, "the foreign minor's move", stepLines(move), "clinic-attachment drafted", "voter-registration-update rejected")
		voter = stepsOfService(move, "voter-registration-update")[0]
		if len(voter.Reasons) != 2 {
			t.Errorf("the foreign minor's voter registration: want 2 reasons, got %s", reasonTexts(voter))
		}
	})

	t.Run("a move is not opened twice, and an old move opens nothing", func(t *testing.T) {
		if got := send(t, s, residenceRegistry, moveOf("mv-anna", anna.id, "RU-MOW", "RU-SPE", spb, "2026-03-05", t0)); got["duplicates"] != 1.0 {
			t.Errorf("resent move: %v", got)
		}
		send(t, s, residenceRegistry, moveOf("mv-old", boris.id, "RU-TAT", "RU-MOW", "Москва, ул. Арбат, д. 10, кв. 1", "2025-11-01", t0))
		setClock(t, s, t0.Add(3*time.Minute))
		if n := len(signIn(t, s, anna.id).allSituations()); n != 1 {
			t.Errorf("Anna has %d situations after a resent move, want 1", n)
		}
		if n := len(signIn(t, s, boris.id).allSituations()); n != 1 {
			t.Errorf("Boris has %d situations after a move older than 90 days, want 1", n)
		}
	})
}

// --- marriage ----------------------------------------------------------------

func TestMarriageThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	olga := muscovite(personID(201), "Смирнова", "Ольга", "1995-02-02", "F")
	igor := muscovite(personID(202), "Котов", "Игорь", "1993-04-04", "M")
	vera := muscovite(personID(203), "Лебедева", "Вера", "1990-06-06", "F")
	petr := muscovite(personID(204), "Орлов", "Пётр", "1988-07-07", "M")
	send(t, s, population, olga.registered(t0), igor.registered(t0), vera.registered(t0), petr.registered(t0))
	send(t, s, civilStatus,
		marriageOf("mar-1", igor.id, olga.id, "2026-03-07", map[string]string{olga.id: "Котова"}, t0),
		marriageOf("mar-2", vera.id, petr.id, "2026-03-08", map[string]string{vera.id: "Лебедева-Орлова", petr.id: "Орлов-Лебедев"}, t0),
	)
	setClock(t, s, t0.Add(time.Minute))

	o := signIn(t, s, olga.id)
	t.Run("a passport draft for the spouse who changes name, 30 days from the marriage", func(t *testing.T) {
		o := o.in(t)
		wantLines(t, "Olga's marriage", stepLines(o.situationOf("marriage")), "passport-replacement drafted")
		d := o.draftIn("marriage", "passport-replacement")
		if d.Deadline != "2026-04-06" || d.Status != "open" {
			t.Errorf("passport draft: deadline %s status %s, want 2026-04-06 open", d.Deadline, d.Status)
		}
		if d.Prefill["family_name"] != "Котова" || d.Prefill["previous_family_name"] != "Смирнова" ||
			d.Prefill["given_name"] != "Ольга" || d.Prefill["reason"] != "marriage" {
			t.Errorf("passport prefill %v", d.Prefill)
		}
		// Nothing else is offered before the passport is confirmed.
		if n := len(o.allDrafts()); n != 1 {
			t.Errorf("Olga has %d drafts before confirming, want 1", n)
		}
		if n := len(o.allGrants()); n != 0 {
			t.Errorf("Olga has %d grants before confirming, want 0", n)
		}
	})

	t.Run("the spouse who keeps the name gets nothing", func(t *testing.T) {
		i := signIn(t, s, igor.id)
		if n := len(i.allDrafts()) + len(i.allGrants()) + len(i.allNotifications()); n != 0 {
			t.Errorf("Igor has %d drafts, grants and notifications", n)
		}
		for _, sit := range i.allSituations() {
			if len(sit.Steps) != 0 {
				t.Errorf("Igor sees steps %+v", sit.Steps)
			}
		}
	})

	t.Run("confirming the passport offers the follow-ups", func(t *testing.T) {
		o := o.in(t)
		d := o.draftIn("marriage", "passport-replacement")
		o.confirm(d.ID, map[string]any{"phone": "+79161234567"})
		sit := o.situationOf("marriage")
		wantLines(t, "Olga's marriage after the confirmation", stepLines(sit),
			"passport-replacement submitted", "driving-licence-replacement drafted", "foreign-passport-replacement drafted",
			"snils-update granted", "tax-record-update granted")
		for _, service := range []string{"driving-licence-replacement", "foreign-passport-replacement"} {
			f := o.draftIn("marriage", service)
			if f.Applicant != olga.id || f.Prefill["family_name"] != "Котова" || f.Prefill["previous_family_name"] != "Смирнова" {
				t.Errorf("%s: applicant %s prefill %v", service, f.Applicant, f.Prefill)
			}
			if f.Deadline != "2026-06-08" { // 90 days from the offer
				t.Errorf("%s deadline %s", service, f.Deadline)
			}
		}
		grants := map[string]fullGrant{}
		for _, g := range o.allGrants() {
			grants[g.Service] = g
		}
		for service, registry := range map[string]string{"snils-update": "snils", "tax-record-update": "taxpayers"} {
			g := grants[service]
			if g.Registry != registry || g.EntryID == "" || g.Details["family_name"] != "Котова" {
				t.Errorf("%s grant %+v", service, g)
			}
		}
		// Confirming again changes nothing and offers nothing twice.
		o.confirm(d.ID, map[string]any{"phone": "+79161234567"})
		if n := len(o.situationOf("marriage").Steps); n != 5 {
			t.Errorf("after a repeated confirmation: %d steps, want 5", n)
		}
		// The agency issues the passport a day later.
		setClock(t, s, t0.Add(25*time.Hour))
		st := stepsOfService(o.situationOf("marriage"), "passport-replacement")[0]
		if st.Outcome != "granted" || st.GrantID == "" {
			t.Errorf("passport after the agency's delay: %+v", st)
		}
	})

	t.Run("both spouses change name: one draft each; unconfirmed, it expires after 30 days", func(t *testing.T) {
		v, p := signIn(t, s, vera.id), signIn(t, s, petr.id)
		wantLines(t, "Vera's marriage", stepLines(v.situationOf("marriage")), "passport-replacement drafted")
		wantLines(t, "Petr's marriage", stepLines(p.situationOf("marriage")), "passport-replacement drafted")
		if d := p.draftIn("marriage", "passport-replacement"); d.Prefill["family_name"] != "Орлов-Лебедев" || d.Deadline != "2026-04-07" {
			t.Errorf("Petr's draft: %v %s", d.Prefill, d.Deadline)
		}
		// Vera confirms; Petr does not.
		v.confirm(v.draftIn("marriage", "passport-replacement").ID, nil)
		setClock(t, s, time.Date(2026, 4, 7, 20, 59, 0, 0, time.UTC)) // 23:59 in Moscow
		if d := p.draftIn("marriage", "passport-replacement"); d.Status != "open" {
			t.Errorf("on the last day: %s", d.Status)
		}
		setClock(t, s, time.Date(2026, 4, 7, 21, 0, 0, 0, time.UTC))
		if d := p.draftIn("marriage", "passport-replacement"); d.Status != "expired" {
			t.Errorf("after the deadline: %s", d.Status)
		}
		// Petr was never offered the follow-ups; Vera was.
		wantLines(t, "Petr's marriage after the deadline", stepLines(p.situationOf("marriage")), "passport-replacement expired")
		if n := len(v.situationOf("marriage").Steps); n != 5 {
			t.Errorf("Vera's marriage: %d steps, want 5", n)
		}
	})
}

// --- bereavement -------------------------------------------------------------

func TestBereavementThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	// Pavel turns 45 on 1 April 2026, after his death on 8 March.
	pavel := muscovite(personID(301), "Павлов", "Павел", "1981-04-01", "M")
	nina := muscovite(personID(302), "Павлова", "Нина", "1983-02-02", "F")
	vera := muscovite(personID(303), "Верина", "Вера", "1986-03-03", "F")
	send(t, s, population, pavel.registered(t0), nina.registered(t0), vera.registered(t0))
	// His children: Sergey (20, who reports the death), 17 and 10 with
	// Nina, 5 with Vera.
	sergey, k17, k10, k5 := personID(311), personID(312), personID(313), personID(314)
	send(t, s, civilStatus,
		birthOf("b-sergey", sergey, "Сергей", nina.id, pavel.id, "2005-06-01", "RU-MOW", t0),
		birthOf("b-k17", k17, "Кирилл", nina.id, pavel.id, "2008-09-09", "RU-MOW", t0),
		birthOf("b-k10", k10, "Денис", nina.id, pavel.id, "2016-01-01", "RU-MOW", t0),
		birthOf("b-k5", k5, "Глеб", vera.id, pavel.id, "2021-01-01", "RU-MOW", t0),
	)
	// Before he died Pavel moved: he confirmed the health insurance update
	// (the agency decides a day later) and left the clinic and school
	// transfer drafts open.
	send(t, s, residenceRegistry, moveOf("b-move", pavel.id, "RU-MOW", "RU-SPE", "Санкт-Петербург, ул. Марата, д. 1", "2026-03-02", t0))
	setClock(t, s, t0.Add(time.Minute))
	p := signIn(t, s, pavel.id)
	ins := p.draftIn("move", "health-insurance-update")
	p.confirm(ins.ID, map[string]any{"insurer": "АО «СОГАЗ-Мед»"})
	clinic := p.draftIn("move", "clinic-attachment")

	death := deathOf("death-1", pavel.id, "2026-03-08", sergey, t0.Add(time.Hour))
	setClock(t, s, t0.Add(time.Hour))
	send(t, s, civilStatus, death)
	setClock(t, s, t0.Add(time.Hour+time.Minute))

	t.Run("the informant: death certificate granted, funeral benefit drafted for six months", func(t *testing.T) {
		sg := signIn(t, s, sergey)
		sit := sg.situationOf("bereavement")
		wantLines(t, "Sergey's bereavement", stepLines(sit), "death-certificate granted", "funeral-benefit drafted")
		fb := sg.draftIn("bereavement", "funeral-benefit")
		if fb.Deadline != "2026-09-08" || fb.Prefill["deceased_id"] != pavel.id || fb.Prefill["deceased_family_name"] != "Павлов" {
			t.Errorf("funeral-benefit: deadline %s prefill %v", fb.Deadline, fb.Prefill)
		}
		var cert fullGrant
		for _, g := range sg.allGrants() {
			if g.Service == "death-certificate" {
				cert = g
			}
		}
		if cert.Registry != "civil-status" || cert.EntryID == "" || cert.Details["record_number"] != "D-death-1" {
			t.Errorf("death certificate %+v", cert)
		}
	})

	t.Run("the deceased: pension stopped and passport cancelled", func(t *testing.T) {
		wantLines(t, "Pavel's bereavement", stepLines(signIn(t, s, pavel.id).situationOf("bereavement")),
			"pension-stop granted", "passport-cancellation granted")
	})

	t.Run("one survivor pension per child under 18, addressed to the other parent", func(t *testing.T) {
		n := signIn(t, s, nina.id)
		wantLines(t, "Nina's bereavement", stepLines(n.situationOf("bereavement")),
			"survivor-pension drafted for "+k10, "survivor-pension drafted for "+k17)
		for _, d := range n.allDrafts() {
			if d.Service != "survivor-pension" || d.Applicant != nina.id || d.Prefill["child_id"] != d.Beneficiary ||
				d.Prefill["deceased_id"] != pavel.id || d.Deadline != "2027-03-08" {
				t.Errorf("Nina's draft %+v", d)
			}
		}
		wantLines(t, "Vera's bereavement", stepLines(signIn(t, s, vera.id).situationOf("bereavement")),
			"survivor-pension drafted for "+k5)
		// The adult son gets none.
		if got := stepsOfService(signIn(t, s, sergey).situationOf("bereavement"), "survivor-pension"); len(got) != 0 {
			t.Errorf("Sergey: %+v", got)
		}
	})

	t.Run("every open draft of the deceased is withdrawn, the submitted one too, and the informant is told", func(t *testing.T) {
		p := p.in(t)
		wantLines(t, "Pavel's move", stepLines(p.situationOf("move")),
			"clinic-attachment withdrawn", "health-insurance-update withdrawn",
			"school-transfer withdrawn for "+k10, "school-transfer withdrawn for "+k17,
			"tax-office-transfer granted", "voter-registration-update granted")
		for _, id := range []string{clinic.ID, ins.ID} {
			var d fullDraft
			p.get("/v1/me/drafts/"+id, &d)
			if d.Status != "withdrawn" {
				t.Errorf("draft %s: status %s, want withdrawn", d.Service, d.Status)
			}
		}
		if r := p.call("POST", "/v1/me/drafts/"+clinic.ID+"/confirm", nil); r.status != 409 {
			t.Errorf("confirming a withdrawn draft: want 409, got %d %s", r.status, r.body)
		}
		// Whoever else is concerned is told: the son who reported the
		// death of each, the children's mother of their school transfers;
		// the deceased and the minors are not.
		told := func(who string) []string {
			var out []string
			for _, n := range signIn(t, s, who).allNotifications() {
				if n.SituationKind == "move" && n.Outcome == "withdrawn" {
					out = append(out, n.Service)
					if !strings.Contains(n.Text["en"], "died") {
						t.Errorf("withdrawal notice %q does not say why", n.Text["en"])
					}
				}
			}
			return out
		}
		wantLines(t, "Sergey was told", told(sergey),
			"clinic-attachment", "health-insurance-update", "school-transfer", "school-transfer")
		wantLines(t, "Nina was told", told(nina.id), "school-transfer", "school-transfer")
		wantLines(t, "Pavel was told", told(pavel.id))
		wantLines(t, "Vera was told", told(vera.id))
		wantLines(t, "the 10-year-old was told", told(k10))
		// The agency's decision on the withdrawn application never comes.
		setClock(t, s, t0.Add(26*time.Hour))
		st := stepsOfService(p.situationOf("move"), "health-insurance-update")[0]
		if st.Outcome != "withdrawn" || st.GrantID != "" {
			t.Errorf("after the agency's delay: %+v", st)
		}
	})

	t.Run("no situation is opened for the dead: not his 45th birthday, not a late move", func(t *testing.T) {
		if got := send(t, s, civilStatus, death); got["duplicates"] != 1.0 {
			t.Errorf("resent death: %v", got)
		}
		send(t, s, residenceRegistry, moveOf("b-late-move", pavel.id, "RU-SPE", "RU-TAT", "Казань, ул. Баумана, д. 3", "2026-03-07", t0.Add(26*time.Hour)))
		setClock(t, s, time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC))
		wantLines(t, "Pavel's situations", signIn(t, s, pavel.id).kinds(), "bereavement", "move")
		if k := signIn(t, s, sergey).kinds(); len(k) != 1 {
			t.Errorf("Sergey's situations %v", k)
		}
	})
}

// --- the means test of the child allowance -----------------------------------

func TestChildAllowanceMeansTestThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	// Moscow's per-capita subsistence minimum: 26 474 roubles a month in
	// 2025, 28 052 in 2026. A mother and her newborn are a household of two:
	// 24 times the minimum a year is exactly at it.
	cases := []struct {
		name    string
		birth   string
		income  float64 // the mother's, 2025; 0: none reported
		father  float64 // the father's, 2025; 0: no father
		outcome string
		figures []string // in the rejection's reasons
	}{
		{name: "just below the minimum", birth: "2026-03-05", income: 673247, outcome: "drafted"},
		{name: "exactly at the minimum is not below it", birth: "2026-03-05", income: 673248, outcome: "rejected",
			figures: []string{"income for 2025", "28,052.00 roubles a month", "of 28,052.00 roubles", "673,248.00", "for 2 persons", "RU-MOW", "2026-03-05"}},
		{name: "the minimum in force on the birth date (2025)", birth: "2025-12-20", income: 648000, outcome: "rejected",
			figures: []string{"27,000.00", "26,474.00", "2025-12-20"}},
		{name: "the same income under the 2026 minimum", birth: "2026-03-01", income: 648000, outcome: "drafted"},
		{name: "the father's income counts", birth: "2026-03-02", income: 300000, father: 800000, outcome: "rejected",
			figures: []string{"30,555.56", "1,100,000.00", "28,052.00", "for 3 persons"}},
		{name: "no income reported", birth: "2026-03-03", outcome: "drafted"},
	}
	for i, tc := range cases {
		mother := muscovite(personID(400+10*i), "Матвеева", "Мать", "1990-01-01", "F")
		send(t, s, population, mother.registered(t0))
		father := ""
		if tc.father > 0 {
			f := muscovite(personID(401+10*i), "Матвеев", "Отец", "1989-01-01", "M")
			send(t, s, population, f.registered(t0))
			send(t, s, tax, incomeOf("inc-f-"+f.id, f.id, 2025, tc.father, t0))
			father = f.id
		}
		if tc.income > 0 {
			send(t, s, tax, incomeOf("inc-m-"+mother.id, mother.id, 2025, tc.income, t0))
		}
		send(t, s, civilStatus, birthOf("mt-"+mother.id, personID(405+10*i), "Малыш", mother.id, father, tc.birth, "RU-MOW", t0))
	}
	setClock(t, s, t0.Add(time.Minute))

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sit := signIn(t, s, personID(400+10*i)).situationOf("birth-of-child")
			st := stepsOfService(sit, "child-allowance")[0]
			if st.Outcome != tc.outcome {
				t.Fatalf("child-allowance %s, want %s: %s", st.Outcome, tc.outcome, reasonTexts(st))
			}
			text := reasonTexts(st)
			for _, f := range tc.figures {
				if !strings.Contains(text, f) {
					t.Errorf("the reasons do not show %q:\n%s", f, text)
				}
			}
			if tc.outcome == "rejected" && (len(st.Reasons) != 1 || st.Reasons[0].LegalBasis == "") {
				t.Errorf("reasons %+v", st.Reasons)
			}
			if tc.income == 0 && (len(st.Reasons) != 1 || !strings.Contains(st.Reasons[0].Text["en"], "no income data")) {
				t.Errorf("without income data: reasons %s", text)
			}
		})
	}
	t.Run("a drafted allowance carries the figures it was decided on", func(t *testing.T) {
		d := signIn(t, s, personID(430)).draftIn("birth-of-child", "child-allowance")
		if d.Prefill["per_capita_income"] != 27000.0 || d.Prefill["subsistence_minimum"] != 28052.0 ||
			d.Prefill["household_size"] != 2.0 || d.Prefill["income_year"] != "2025" || d.Prefill["region"] != "RU-MOW" {
			t.Errorf("prefill %v", d.Prefill)
		}
	})
}

// --- interactions ------------------------------------------------------------

func TestMotherMovesWithOpenBirthDraftsThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	maria := muscovite(personID(501), "Морозова", "Мария", "1994-03-01", "F")
	olga := muscovite(personID(502), "Осипова", "Ольга", "1995-04-01", "F")
	zoya := muscovite(personID(503), "Зуева", "Зоя", "1996-05-01", "F")
	send(t, s, population, maria.registered(t0), olga.registered(t0), zoya.registered(t0))
	baby, olgasBaby, zoyasBaby := personID(511), personID(512), personID(513)
	send(t, s, civilStatus,
		birthOf("i-b1", baby, "Марк", maria.id, "", "2026-03-05", "RU-MOW", t0),
		birthOf("i-b2", olgasBaby, "Олег", olga.id, "", "2026-03-05", "RU-MOW", t0),
		birthOf("i-b3", zoyasBaby, "Захар", zoya.id, "", "2026-03-05", "RU-MOW", t0),
	)
	setClock(t, s, t0.Add(time.Minute))
	m := signIn(t, s, maria.id)
	before := m.situationOf("birth-of-child")

	// Olga opts out of the queue before moving; Zoya moves within Moscow.
	o := signIn(t, s, olga.id)
	queue := stepsOfService(o.situationOf("birth-of-child"), "kindergarten-queue")[0]
	if r := o.call("POST", "/v1/me/grants/"+queue.GrantID+"/withdraw", nil); r.status != 200 {
		t.Fatalf("opt-out: %d %s", r.status, r.body)
	}

	spb := "Санкт-Петербург, ул. Рубинштейна, д. 7, кв. 3"
	setClock(t, s, t0.Add(time.Hour))
	send(t, s, residenceRegistry,
		moveOf("i-mv1", maria.id, "RU-MOW", "RU-SPE", spb, "2026-03-09", t0.Add(time.Hour)),
		moveOf("i-mv2", olga.id, "RU-MOW", "RU-SPE", spb, "2026-03-09", t0.Add(time.Hour)),
		moveOf("i-mv3", zoya.id, "RU-MOW", "RU-MOW", "Москва, ул. Арбат, д. 1", "2026-03-09", t0.Add(time.Hour)),
	)
	setClock(t, s, t0.Add(time.Hour+time.Minute))

	t.Run("the birth drafts stay open and can be confirmed", func(t *testing.T) {
		m := m.in(t)
		after := m.situationOf("birth-of-child")
		if after.ID != before.ID {
			t.Fatalf("the birth situation changed: %s -> %s", before.ID, after.ID)
		}
		wantLines(t, "Maria's birth after the move", stepLines(after),
			"birth-certificate granted for "+baby, "child-snils granted for "+baby, "maternity-capital granted",
			"child-allowance drafted for "+baby, "child-health-insurance drafted for "+baby,
			"residence-registration drafted for "+baby, "kindergarten-queue withdrawn for "+baby)
		reg := m.draftIn("birth-of-child", "residence-registration")
		if got := m.confirm(reg.ID, map[string]any{"address": spb}); got.Status != "confirmed" {
			t.Errorf("residence registration at the new address: %+v", got)
		}
		if got := m.confirm(m.draftIn("birth-of-child", "child-health-insurance").ID, nil); got.Status != "confirmed" {
			t.Errorf("health insurance: %+v", got)
		}
	})

	t.Run("the kindergarten queue follows her to the new region", func(t *testing.T) {
		m := m.in(t)
		wantLines(t, "Maria's move", stepLines(m.situationOf("move")),
			"clinic-attachment drafted", "health-insurance-update drafted", "tax-office-transfer granted",
			"voter-registration-update granted", "kindergarten-queue granted for "+baby)
		var queues []string
		for _, g := range m.allGrants() {
			if g.Service == "kindergarten-queue" {
				queues = append(queues, g.SituationKind+" "+g.Status+" "+g.Details["region"].(string))
				if g.SituationKind == "move" && (g.Beneficiary != baby || g.Details["previous_region"] != "RU-MOW") {
					t.Errorf("the new queue entry %+v", g)
				}
			}
		}
		wantLines(t, "Maria's queue entries", queues, "birth-of-child withdrawn RU-MOW", "move active RU-SPE")
		var told []string
		for _, n := range m.allNotifications() {
			if n.Service == "kindergarten-queue" {
				told = append(told, n.SituationKind+" "+n.Outcome)
				if n.SituationKind == "birth-of-child" && n.Outcome == "withdrawn" && !strings.Contains(n.Text["en"], "RU-SPE") {
					t.Errorf("the old entry's notice %q does not name the new region", n.Text["en"])
				}
			}
		}
		wantLines(t, "Maria's queue notifications", told, "birth-of-child granted", "birth-of-child withdrawn", "move granted")
		// The new entry can be opted out of like the first.
		gid := stepsOfService(m.situationOf("move"), "kindergarten-queue")[0].GrantID
		if r := m.call("POST", "/v1/me/grants/"+gid+"/withdraw", nil); r.status != 200 {
			t.Errorf("opt-out of the new entry: %d %s", r.status, r.body)
		}
	})

	t.Run("a queue she left does not follow her; a move within the region keeps it", func(t *testing.T) {
		if got := stepsOfService(signIn(t, s, olga.id).situationOf("move"), "kindergarten-queue"); len(got) != 0 {
			t.Errorf("Olga opted out, yet: %+v", got)
		}
		z := signIn(t, s, zoya.id)
		wantLines(t, "Zoya's move", stepLines(z.situationOf("move")), "clinic-attachment drafted", "voter-registration-update granted")
		if st := stepsOfService(z.situationOf("birth-of-child"), "kindergarten-queue")[0]; st.Outcome != "granted" {
			t.Errorf("Zoya's queue entry: %s", st.Outcome)
		}
	})
}

func TestDeathWhileDraftSubmittedThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	anna := muscovite(personID(601), "Андреева", "Анна", "1992-02-02", "F")
	ivan := muscovite(personID(602), "Андреев", "Иван", "1991-01-01", "M")
	send(t, s, population, anna.registered(t0), ivan.registered(t0))
	baby := personID(611)
	send(t, s, civilStatus, birthOf("d-b1", baby, "Артём", anna.id, ivan.id, "2026-03-05", "RU-MOW", t0))
	setClock(t, s, t0.Add(time.Minute))

	a := signIn(t, s, anna.id)
	allowance := a.draftIn("birth-of-child", "child-allowance")
	a.confirm(allowance.ID, map[string]any{"bank_account": "40817810000000000001"})
	if st := stepsOfService(a.situationOf("birth-of-child"), "child-allowance")[0]; st.Outcome != "submitted" {
		t.Fatalf("after the confirmation: %s", st.Outcome)
	}

	// She dies before the agency decides; her husband reports it.
	setClock(t, s, t0.Add(2*time.Hour))
	send(t, s, civilStatus, deathOf("d-death", anna.id, "2026-03-10", ivan.id, t0.Add(2*time.Hour)))
	setClock(t, s, t0.Add(2*time.Hour+time.Minute))

	// Decision: an application is personal to its applicant. The submitted
	// one is withdrawn (the agency's pending decision with it) like the
	// open ones; grants already made (the certificate, the queue) stay.
	wantLines(t, "the birth after the mother's death", stepLines(a.situationOf("birth-of-child")),
		"birth-certificate granted for "+baby, "child-snils granted for "+baby, "maternity-capital granted",
		"child-allowance withdrawn for "+baby, "child-health-insurance withdrawn for "+baby,
		"residence-registration withdrawn for "+baby, "kindergarten-queue granted for "+baby)

	i := signIn(t, s, ivan.id)
	told := map[string]bool{}
	for _, n := range i.allNotifications() {
		if n.SituationKind == "birth-of-child" && n.Outcome == "withdrawn" {
			told[n.Service] = true
		}
	}
	if len(told) != 3 || !told["child-allowance"] {
		t.Errorf("the father was told of the withdrawals of %v", told)
	}
	wantLines(t, "the father's bereavement", stepLines(i.situationOf("bereavement")),
		"death-certificate granted", "funeral-benefit drafted", "survivor-pension drafted for "+baby)

	// A day later the agency would have decided: nothing comes.
	setClock(t, s, t0.Add(27*time.Hour))
	st := stepsOfService(a.situationOf("birth-of-child"), "child-allowance")[0]
	if st.Outcome != "withdrawn" || st.GrantID != "" {
		t.Errorf("the allowance after the agency's delay: %+v", st)
	}
	var d fullDraft
	a.get("/v1/me/drafts/"+allowance.ID, &d)
	if d.Status != "withdrawn" {
		t.Errorf("the allowance draft: %s", d.Status)
	}
}

func TestMarriageOnFortyFifthBirthdayThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	lena := muscovite(personID(701), "Ленина", "Елена", "1981-03-12", "F")
	gleb := muscovite(personID(702), "Глебов", "Глеб", "1980-10-10", "M")
	send(t, s, population, lena.registered(t0), gleb.registered(t0))

	// Midnight of 12 March in Moscow: she is 45. At ten she marries and
	// takes her husband's name.
	setClock(t, s, time.Date(2026, 3, 11, 21, 0, 0, 0, time.UTC))
	wed := time.Date(2026, 3, 12, 7, 0, 0, 0, time.UTC)
	setClock(t, s, wed)
	send(t, s, civilStatus, marriageOf("wed-1", lena.id, gleb.id, "2026-03-12", map[string]string{lena.id: "Глебова"}, wed))
	setClock(t, s, wed.Add(time.Minute))

	// Decision: two life events, two situations, each with its own
	// passport-replacement draft (no service is granted twice within one
	// situation; the catalogue cannot yet say that one application covers
	// the other's purpose). They differ in reason, name and deadline.
	l := signIn(t, s, lena.id)
	wantLines(t, "Lena's situations", l.kinds(), "age-milestone", "marriage")
	age := l.draftIn("age-milestone", "passport-replacement")
	wedding := l.draftIn("marriage", "passport-replacement")
	if age.Prefill["reason"] != "age-45" || age.Deadline != "2026-06-10" || age.Prefill["family_name"] != "Ленина" {
		t.Errorf("the age-45 draft: %v %s", age.Prefill, age.Deadline)
	}
	if wedding.Prefill["reason"] != "marriage" || wedding.Deadline != "2026-04-11" ||
		wedding.Prefill["family_name"] != "Глебова" || wedding.Prefill["previous_family_name"] != "Ленина" {
		t.Errorf("the marriage draft: %v %s", wedding.Prefill, wedding.Deadline)
	}
}

func TestEventsOutOfOrderThroughHTTP(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)

	mother := muscovite(personID(801), "Орлова", "Оксана", "1993-09-09", "F")
	child := personID(811)
	birth := birthOf("o-b1", child, "Остап", mother.id, "", "2026-03-05", "RU-MOW", t0)
	post := func(source string, ev map[string]any) response {
		body, _ := json.Marshal(ev)
		return do(t, "POST", s.url+"/v1/events", devToken(t, s, "registry", source), "application/cloudevents+json", body)
	}
	// Every type that needs a known person names the field that does not.
	stranger := personID(899)
	for _, tc := range []struct {
		source  string
		ev      map[string]any
		pointer string
	}{
		{civilStatus, birth, "/data/mother_id"},
		{residenceRegistry, moveOf("o-m1", stranger, "RU-MOW", "RU-SPE", "Санкт-Петербург", "2026-03-05", t0), "/data/person_id"},
		{civilStatus, marriageOf("o-w1", stranger, mother.id, "2026-03-05", nil, t0), "/data/spouse_ids/0"},
		{civilStatus, deathOf("o-d1", stranger, "2026-03-05", mother.id, t0), "/data/person_id"},
		{tax, incomeOf("o-i1", stranger, 2025, 100000, t0), "/data/person_id"},
	} {
		r := post(tc.source, tc.ev)
		if r.status != 400 || !strings.Contains(string(r.body), `"`+tc.pointer+`"`) {
			t.Errorf("%s before its person is known: want 400 naming %s, got %d %s", tc.ev["type"], tc.pointer, r.status, r.body)
		}
	}
	send(t, s, population, mother.registered(t0))
	if got := send(t, s, civilStatus, birth); got["accepted"] != 1.0 || got["duplicates"] != 0.0 {
		t.Errorf("the birth resent after the mother: %v", got)
	}
	setClock(t, s, t0.Add(time.Minute))
	wantOutcomes(t, signIn(t, s, mother.id).stepsOf("birth-of-child"), map[string]string{
		"birth-certificate": "granted", "child-snils": "granted", "maternity-capital": "granted",
		"child-allowance": "drafted", "child-health-insurance": "drafted", "residence-registration": "drafted",
		"kindergarten-queue": "granted",
	})
}
