package citizenapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestADraftIsSeenOnlyByItsApplicantAndBeneficiary(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("visibility")
	path := "/v1/me/drafts/" + b.allowance.String()

	var d object
	f.get(path, mother).ok(t, &d)
	if d["id"] != b.allowance.String() || d["situation"] != b.id.String() || d["applicant"] != mother {
		t.Errorf("draft = %v", d)
	}
	f.get(path, child).ok(t, &d) // the beneficiary sees it

	for _, who := range []string{stranger, father} {
		p := f.get(path, who).problem(t, http.StatusNotFound)
		if strings.Contains(p.Detail, b.allowance.String()) {
			t.Errorf("the 404 names the draft: %s", p.Detail)
		}
		f.post(path+"/confirm", who, "").problem(t, http.StatusNotFound)
		f.post(path+"/decline", who, "").problem(t, http.StatusNotFound)
	}
	// Only the applicant decides on it.
	f.post(path+"/confirm", child, "").problem(t, http.StatusNotFound)
	f.post(path+"/decline", child, "").problem(t, http.StatusNotFound)
	f.get("/v1/me/drafts/not-a-uuid", mother).problem(t, http.StatusNotFound)
}

func TestConfirmADraft(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("confirm")
	path := "/v1/me/drafts/" + b.allowance.String() + "/confirm"

	p := f.post(path, mother, `{"fields":{"address":"Kazan","bank_account":"40817810000000000002"}}`).problem(t, http.StatusBadRequest)
	if got := pointers(p); !slices.Equal(got, []string{"/fields/address"}) {
		t.Errorf("pointers %v, want /fields/address", got)
	}
	p = f.post(path, mother, `{"fields":{"a/b~c":1}}`).problem(t, http.StatusBadRequest)
	if got := pointers(p); !slices.Equal(got, []string{"/fields/a~1b~0c"}) {
		t.Errorf("pointers %v, want an escaped name", got)
	}
	p = f.post(path, mother, `{"fields":["bank_account"]}`).problem(t, http.StatusBadRequest)
	if got := pointers(p); !slices.Equal(got, []string{"/fields"}) {
		t.Errorf("pointers %v, want /fields", got)
	}
	// The saga's own check of the value, by the catalogue's rules.
	p = f.post(path, mother, `{"fields":{"bank_account":"123"}}`).problem(t, http.StatusBadRequest)
	if got := pointers(p); !slices.Equal(got, []string{"/fields/bank_account"}) {
		t.Errorf("pointers %v, want /fields/bank_account", got)
	}
	f.post(path, mother, `{"fields":`).problem(t, http.StatusBadRequest)
	f.post(path, mother, `{"fields":{},"extra":1}`).problem(t, http.StatusBadRequest)
	f.post(path, mother, `{"fields":{}} {}`).problem(t, http.StatusBadRequest)

	f.later()
	body := `{"fields":{"bank_account":"40817810000000000002"}}`
	first := f.post(path, mother, body)
	var d object
	first.ok(t, &d)
	if d["status"] != "confirmed" || d["outcome"] != "submitted" || d["fields"].(object)["bank_account"] != "40817810000000000002" {
		t.Errorf("confirmed draft = %v", d)
	}
	f.later()
	again := f.post(path, mother, body)
	again.ok(t, &d)
	if !sameJSON(t, first.body, again.body) {
		t.Errorf("confirming again changed the draft:\n%s\n%s", first.body, again.body)
	}
	p = f.post(path, mother, `{"fields":{"bank_account":"40817810000000000003"}}`).problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "already confirmed") {
		t.Errorf("detail %q", p.Detail)
	}

	// A draft with nothing to correct is confirmed with no body at all.
	f.post("/v1/me/drafts/"+b.residence.String()+"/confirm", mother, "").ok(t, &d)
	if d["status"] != "confirmed" {
		t.Errorf("confirmed without a body: %v", d)
	}
}

func TestDeclineADraft(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("decline")
	path := "/v1/me/drafts/" + b.allowance.String()

	p := f.post(path+"/decline", mother, `{"reason":"`+strings.Repeat("я", 1001)+`"}`).problem(t, http.StatusBadRequest)
	if got := pointers(p); !slices.Equal(got, []string{"/reason"}) {
		t.Errorf("pointers %v, want /reason", got)
	}
	f.post(path+"/decline", mother, `{"reason":1}`).problem(t, http.StatusBadRequest)

	f.later()
	first := f.post(path+"/decline", mother, `{"reason":"we manage"}`)
	var d object
	first.ok(t, &d)
	if d["status"] != "declined" || d["outcome"] != "declined" {
		t.Errorf("declined draft = %v", d)
	}
	f.later()
	again := f.post(path+"/decline", mother, "")
	again.ok(t, &d)
	if !sameJSON(t, first.body, again.body) {
		t.Errorf("declining again changed the draft:\n%s\n%s", first.body, again.body)
	}

	p = f.post(path+"/confirm", mother, "").problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "is declined and can no longer be confirmed") || strings.HasSuffix(p.Detail, ": conflict") {
		t.Errorf("detail %q", p.Detail)
	}
	f.get(path, mother).ok(t, &d)
	if d["status"] != "declined" {
		t.Errorf("after the refused confirmation: %v", d)
	}
}
