package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lifesituations/domain/personaldata"
)

// TestErasureThroughTheAPIAndTheCLI erases one mother through the API of
// the running server and another with the command on the stopped server's
// data directory, and checks what an erasure must change and what it must
// not.
func TestErasureThroughTheAPIAndTheCLI(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := startServer(t, "--clock", "manual", "--clock-start", start.Format(time.RFC3339))
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	apiMother, cliMother, other := personID(1), personID(2), personID(3)
	const (
		apiName, apiAddress = "Erasova", "Moscow, Lenina street 7, flat 12"
		cliName, cliAddress = "Cliova", "Moscow, Mira avenue 3, flat 4"
		otherName           = "Keptova"
	)
	send(t, s, population,
		registered(apiMother, apiName, "Maria", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", apiAddress, t0),
		registered(cliMother, cliName, "Olga", "1993-04-02", "F", "RU", "RU-MOW", "Europe/Moscow", cliAddress, t0),
		registered(other, otherName, "Vera", "1990-01-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Moscow, Arbat 1", t0))
	send(t, s, civilStatus,
		born("birth-1", personID(11), apiMother, "2026-03-05", "770-2026-000001", t0),
		born("birth-2", personID(12), cliMother, "2026-03-06", "770-2026-000002", t0))
	setClock(t, s, t0.Add(time.Hour))

	// Before: the cabinet and the audit trail show her name and address.
	maria := signIn(t, s, apiMother)
	registration := prefillOf(t, maria, "residence-registration")
	if registration["address"] != apiAddress {
		t.Fatalf("residence-registration before erasure: %v", registration)
	}
	a := auditor{t, s}
	if d := firstData(t, a.events(apiMother, ""), "person.registered"); d["family_name"] != apiName || d["address"] != apiAddress {
		t.Fatalf("audit events before erasure: %v", d)
	}
	quality := func() string {
		r := do(t, "GET", s.url+"/v1/quality", devToken(t, s, "auditor", "aud-q"), "", nil)
		if r.status != 200 {
			t.Fatalf("quality: %d %s", r.status, r.body)
		}
		// The figures, not the log position they were read at.
		items, _ := json.Marshal(r.json(t)["items"])
		return string(items)
	}
	qualityBefore := quality()
	// The log never held them in clear, while a figure kept in clear (the
	// record number) is found: the search can find what is there.
	events := filepath.Join(s.data, "events")
	if !filesContain(t, events, "770-2026-000001") {
		t.Fatal("the record number is not found in the log files: the search below would prove nothing")
	}
	for _, plain := range []string{apiName, apiAddress, cliName, otherName} {
		if filesContain(t, events, plain) {
			t.Fatalf("the log files hold %q in clear", plain)
		}
	}

	operator := devToken(t, s, "operator", "op-1")
	post := func(path, token string, body any) response {
		t.Helper()
		raw, _ := json.Marshal(body)
		return do(t, "POST", s.url+path, token, "application/json", raw)
	}
	eventsBefore := len(a.events(apiMother, ""))

	// Refused, and nothing changes.
	if r := post("/v1/erasures", operator, map[string]any{"person_id": apiMother}); r.status != 400 || !strings.Contains(string(r.body), `"/reason"`) {
		t.Fatalf("without a reason: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures", operator, map[string]any{"person_id": "not-an-id", "reason": "x"}); r.status != 400 || !strings.Contains(string(r.body), `"/person_id"`) {
		t.Fatalf("with a bad id: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures", operator, map[string]any{"person_id": personID(99), "reason": "GDPR art. 17"}); r.status != 404 {
		t.Fatalf("an unknown person: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures", devToken(t, s, "citizen", apiMother), map[string]any{"person_id": apiMother, "reason": "x"}); r.status != 403 {
		t.Fatalf("a citizen requesting: %d %s", r.status, r.body)
	}
	r := post("/v1/erasures", operator, map[string]any{"person_id": apiMother, "reason": "Court order 12/2026"})
	if r.status != 201 || r.json(t)["status"] != "pending" {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if r := post("/v1/erasures/"+id+"/approve", devToken(t, s, "auditor", "op-1"), nil); r.status != 403 || !strings.Contains(string(r.body), "four-eyes") {
		t.Fatalf("approved by the requester: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures/"+id+"/approve", devToken(t, s, "operator", "op-2"), nil); r.status != 403 {
		t.Fatalf("approved by an operator: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures/"+personID(98)+"/approve", devToken(t, s, "auditor", "aud-2"), nil); r.status != 404 {
		t.Fatalf("approving an unknown request: %d %s", r.status, r.body)
	}
	if got := prefillOf(t, maria, "residence-registration"); got["address"] != apiAddress {
		t.Fatalf("a refused approval changed the cabinet: %v", got)
	}
	if n := len(a.events(apiMother, "")); n != eventsBefore {
		t.Fatalf("refused calls appended to her events: %d, before %d", n, eventsBefore)
	}

	// Approved by another principal: erased.
	r = post("/v1/erasures/"+id+"/approve", devToken(t, s, "auditor", "aud-2"), nil)
	if r.status != 200 || r.json(t)["status"] != "erased" || r.json(t)["approved_by"] != "aud-2" {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", s.url+"/v1/erasures/"+id, operator, "", nil); r.status != 200 || r.json(t)["status"] != "erased" {
		t.Fatalf("GET the request: %d %s", r.status, r.body)
	}
	if r := post("/v1/erasures", operator, map[string]any{"person_id": apiMother, "reason": "again"}); r.status != 409 {
		t.Fatalf("erasing twice: %d %s", r.status, r.body)
	}
	evs := a.events(apiMother, "")
	d := firstData(t, evs, "person.registered")
	if d["family_name"] != personaldata.Marker || d["given_name"] != personaldata.Marker || d["address"] != personaldata.Marker {
		t.Fatalf("audit events after erasure: %v", d)
	}
	if d["birth_date"] != "1994-03-01" || d["region"] != "RU-MOW" || d["citizenship"] != "RU" {
		t.Fatalf("erasure took what is not personal: %v", d)
	}
	if last := evs[len(evs)-1]; last.Type != personaldata.TypeErased || !strings.Contains(string(last.Data), `"approved_by":"aud-2"`) || strings.Contains(string(last.Data), apiName) {
		t.Fatalf("the last event is %s %s", last.Type, last.Data)
	}
	assertErasedCabinet(t, maria)
	if d := firstData(t, a.events(other, ""), "person.registered"); d["family_name"] != otherName {
		t.Fatalf("someone else's name after the erasure: %v", d)
	}
	if q := quality(); q != qualityBefore {
		t.Fatalf("quality figures changed:\nbefore %s\nafter  %s", qualityBefore, q)
	}

	// The command, on the stopped server's data directory.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	erase := func(args ...string) error {
		return run(context.Background(), append([]string{"erase"}, args...), io.Discard, io.Discard)
	}
	for name, args := range map[string][]string{
		"same principal": {cliMother, "--data", s.data, "--reason", "r", "--requested-by", "x", "--approved-by", "x"},
		"no reason":      {cliMother, "--data", s.data, "--approved-by", "aud-3"},
		"no approver":    {cliMother, "--data", s.data, "--reason", "r"},
		"unknown person": {personID(97), "--data", s.data, "--reason", "r", "--approved-by", "aud-3"},
	} {
		if err := erase(args...); err == nil {
			t.Fatalf("erase with %s succeeded", name)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"erase", cliMother, "--data", s.data, "--reason", "Request of the data subject", "--requested-by", "op-1", "--approved-by", "aud-3"}, &out, io.Discard); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if !strings.Contains(out.String(), "erased the personal data of "+cliMother) {
		t.Fatalf("erase says: %s", out.String())
	}
	if rep, err := verify(t, s.data); err != nil || !rep.OK() {
		t.Fatalf("audit verify after the erasures: %v %+v", err, rep)
	}
	if err := run(context.Background(), []string{"projections", "rebuild", "--data", s.data}, io.Discard, io.Discard); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	// Rebuilt from the log, the read models no longer hold the erased
	// values anywhere in their files, nor does the log.
	for _, plain := range []string{apiName, apiAddress, cliName, cliAddress} {
		if filesContain(t, s.data, plain) {
			t.Errorf("after erasure and rebuild the data directory holds %q", plain)
		}
	}

	s2 := restart(t, s, "--clock", "manual")
	assertErasedCabinet(t, signIn(t, s2, apiMother))
	assertErasedCabinet(t, signIn(t, s2, cliMother))
	a2 := auditor{t, s2}
	if d := firstData(t, a2.events(cliMother, ""), "person.registered"); d["family_name"] != personaldata.Marker {
		t.Fatalf("audit events after the command: %v", d)
	}
	if d := firstData(t, a2.events(other, ""), "person.registered"); d["family_name"] != otherName {
		t.Fatalf("someone else's name after the rebuild: %v", d)
	}
}

// assertErasedCabinet: every personal pre-filled value of the mother's
// drafts reads as erased, the child's name pre-filled in her application
// included (it follows her key); what is not personal stays.
func assertErasedCabinet(t *testing.T, c citizen) {
	t.Helper()
	reg := prefillOf(t, c, "residence-registration")
	if reg["address"] != personaldata.Marker || reg["family_name"] != personaldata.Marker {
		t.Fatalf("residence-registration of %s after erasure: %v", c.id, reg)
	}
	if reg["child_id"] == "" || reg["birth_date"] != "2026-03-05" && reg["birth_date"] != "2026-03-06" {
		t.Fatalf("erasure took what is not personal: %v", reg)
	}
	ins := prefillOf(t, c, "child-health-insurance")
	if ins["representative_family_name"] != personaldata.Marker {
		t.Fatalf("child-health-insurance of %s after erasure: %v", c.id, ins)
	}
}

func prefillOf(t *testing.T, c citizen, service string) map[string]any {
	t.Helper()
	for _, d := range c.drafts() {
		if d.Service == service {
			return d.Prefill
		}
	}
	t.Fatalf("%s has no %s draft", c.id, service)
	return nil
}

func firstData(t *testing.T, evs []auditEvent, typ string) map[string]any {
	t.Helper()
	for _, e := range evs {
		if e.Type == typ {
			var d map[string]any
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	t.Fatalf("no %s among %v", typ, types(evs))
	return nil
}

// filesContain reports whether any file under dir holds s.
func filesContain(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = bytes.Contains(raw, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
