package citizenapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestWithdrawAGrant(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("withdraw")
	queue := "/v1/me/grants/" + b.queue.String() + "/withdraw"

	// The father sees his minor child's grants but may not opt out for her.
	var grants items
	f.get("/v1/me/grants", father).ok(t, &grants)
	if got := ids(grants.Items); !slices.Contains(got, b.queue.String()) || len(got) != 2 {
		t.Errorf("the father's grants %v", got)
	}
	f.post(queue, father, "").problem(t, http.StatusNotFound)
	f.post(queue, stranger, "").problem(t, http.StatusNotFound)
	f.post(queue, mother, `{"why":"no"}`).problem(t, http.StatusBadRequest)

	f.later()
	first := f.post(queue, mother, "")
	var g object
	first.ok(t, &g)
	if g["status"] != "withdrawn" || g["opt_out"] != true || g["withdrawn_at"] == nil {
		t.Errorf("withdrawn grant = %v", g)
	}
	f.later()
	again := f.post(queue, mother, "{}")
	again.ok(t, &g)
	if !sameJSON(t, first.body, again.body) {
		t.Errorf("withdrawing again changed the grant:\n%s\n%s", first.body, again.body)
	}

	p := f.post("/v1/me/grants/"+b.certificate.String()+"/withdraw", mother, "").problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "does not allow opting out") {
		t.Errorf("detail %q", p.Detail)
	}
	f.get("/v1/me/grants", mother).ok(t, &grants)
	for _, it := range grants.Items {
		if want := map[bool]string{true: "withdrawn", false: "active"}[it["id"] == b.queue.String()]; it["status"] != want {
			t.Errorf("grant %v, want %s", it, want)
		}
	}
}
