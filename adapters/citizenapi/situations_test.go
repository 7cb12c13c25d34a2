package citizenapi_test

import (
	"net/http"
	"slices"
	"testing"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
)

func TestRateASituation(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("rating")
	path := "/v1/me/situations/" + b.id.String() + "/rating"

	for score := 1; score <= 5; score++ {
		f.later()
		var s object
		f.post(path, mother, `{"score":`+string(rune('0'+score))+`,"comment":"fine"}`).ok(t, &s)
		r, _ := s["rating"].(object)
		if s["id"] != b.id.String() || r["score"] != float64(score) || r["comment"] != "fine" {
			t.Errorf("rated %d: %v", score, s)
		}
	}
	for _, body := range []string{`{"score":0}`, `{"score":6}`, `{"score":"5"}`, `{"score":4.5}`, `{}`, `{"comment":"no score"}`} {
		p := f.post(path, mother, body).problem(t, http.StatusBadRequest)
		if got := pointers(p); !slices.Equal(got, []string{"/score"}) {
			t.Errorf("%s: pointers %v, want /score", body, got)
		}
	}
	f.post(path, mother, `{"score":5,"stars":5}`).problem(t, http.StatusBadRequest)
	f.post(path, stranger, `{"score":5}`).problem(t, http.StatusNotFound)

	// The father, a participant, rates it too; each sees their own rating.
	var s object
	f.post(path, father, `{"score":2}`).ok(t, &s)
	if r, _ := s["rating"].(object); r["score"] != float64(2) {
		t.Errorf("the father's rating: %v", s["rating"])
	}
	var sits items
	f.get("/v1/me/situations", mother).ok(t, &sits)
	if r, _ := sits.Items[0]["rating"].(object); r["score"] != float64(5) {
		t.Errorf("the mother's rating: %v", sits.Items[0]["rating"])
	}
}

func TestOnlyCitizensAreServed(t *testing.T) {
	f := newFixture(t)
	req, err := http.NewRequest(http.MethodGet, f.server.URL+"/v1/me/drafts", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Subject", mother)
	req.Header.Set("X-Role", "agency")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an agency's request: %d, want 403", resp.StatusCode)
	}
}

func TestRoutesAreForCitizens(t *testing.T) {
	api := citizenapi.New(nil, nil, nil)
	var got []string
	for _, rt := range api.Routes() {
		got = append(got, rt.Pattern)
		if !slices.Equal(rt.Roles, []auth.Role{auth.RoleCitizen}) {
			t.Errorf("%s is for %v", rt.Pattern, rt.Roles)
		}
	}
	want := []string{
		"GET /v1/me/drafts", "GET /v1/me/drafts/{id}", "POST /v1/me/drafts/{id}/confirm", "POST /v1/me/drafts/{id}/decline",
		"GET /v1/me/grants", "POST /v1/me/grants/{id}/withdraw", "GET /v1/me/situations",
		"POST /v1/me/situations/{id}/rating", "GET /v1/me/notifications",
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}
