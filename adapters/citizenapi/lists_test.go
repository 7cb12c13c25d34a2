package citizenapi_test

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

type object = map[string]any

type items struct {
	Items []object `json:"items"`
}

// hasKeys checks that every item carries the keys.
func hasKeys(t *testing.T, what string, list []object, keys ...string) {
	t.Helper()
	for i, it := range list {
		for _, k := range keys {
			if _, ok := it[k]; !ok {
				t.Errorf("%s %d has no %q: %v", what, i, k, it)
			}
		}
	}
}

func ids(list []object) []string {
	out := []string{}
	for _, it := range list {
		out = append(out, it["id"].(string))
	}
	return out
}

func ordered(a, b uuid.UUID) []string {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	return []string{a.String(), b.String()}
}

func TestListsHaveTheirShapesAndOrders(t *testing.T) {
	f := newFixture(t)
	first := f.openBirth("first")
	f.later()
	second := f.openBirth("second")

	var drafts items
	f.get("/v1/me/drafts", mother).ok(t, &drafts)
	hasKeys(t, "draft", drafts.Items, "id", "service", "title", "situation", "situation_kind", "status", "applicant",
		"beneficiary", "prefill", "editable", "fields", "reasons", "deadline", "created_at", "legal_basis", "curator")
	want := append(ordered(first.allowance, first.residence), ordered(second.allowance, second.residence)...)
	if got := ids(drafts.Items); !slices.Equal(got, want) {
		t.Errorf("drafts %v, want by created_at then id %v", got, want)
	}
	d := drafts.Items[0]
	if d["status"] != "open" || d["situation"] != first.id.String() || d["situation_kind"] != "birth-of-child" {
		t.Errorf("draft = %v", d)
	}
	if _, ok := d["prefill"].(object); !ok {
		t.Errorf("prefill is not an object: %v", d["prefill"])
	}

	var grants items
	f.get("/v1/me/grants", mother).ok(t, &grants)
	hasKeys(t, "grant", grants.Items, "id", "service", "title", "situation", "status", "applicant", "beneficiary",
		"granted_at", "registry", "entry_id", "details", "opt_out", "curator", "legal_basis")
	want = append(ordered(first.certificate, first.queue), ordered(second.certificate, second.queue)...)
	if got := ids(grants.Items); !slices.Equal(got, want) {
		t.Errorf("grants %v, want by granted_at then id %v", got, want)
	}

	var sits items
	f.get("/v1/me/situations", mother).ok(t, &sits)
	hasKeys(t, "situation", sits.Items, "id", "kind", "title", "opened_at", "status", "steps")
	if got := ids(sits.Items); !slices.Equal(got, []string{second.id.String(), first.id.String()}) {
		t.Errorf("situations %v, want newest first", got)
	}
	steps := sits.Items[0]["steps"].([]any)
	if len(steps) != 5 {
		t.Fatalf("steps = %v", steps)
	}
	for i, s := range steps {
		st := s.(object)
		hasKeys(t, "step", []object{st}, "service", "title", "outcome", "reasons", "curator")
		_, draft := st["draft_id"]
		_, grant := st["grant_id"]
		if wantDraft := st["outcome"] == "drafted"; draft != wantDraft || grant != (st["outcome"] == "granted") {
			t.Errorf("step %d = %v: draft_id %v, grant_id %v", i, st, draft, grant)
		}
	}
	if st := steps[1].(object); st["deadline"] != "2026-08-28" || st["draft_id"] != second.allowance.String() {
		t.Errorf("allowance step = %v", st)
	}

	var notes items
	f.get("/v1/me/notifications", mother).ok(t, &notes)
	hasKeys(t, "notification", notes.Items, "id", "at", "situation", "service", "kind", "outcome", "text")
	if len(notes.Items) != 10 || notes.Items[0]["situation"] != second.id.String() || notes.Items[9]["situation"] != first.id.String() {
		t.Errorf("notifications = %v", notes.Items)
	}

	// Someone with nothing gets empty lists, never null.
	for _, path := range []string{"/v1/me/drafts", "/v1/me/grants", "/v1/me/situations", "/v1/me/notifications"} {
		r := f.get(path, stranger)
		if r.status != http.StatusOK || string(bytes.TrimSpace(r.body)) != `{"items":[]}` {
			t.Errorf("%s for a stranger: %d %s", path, r.status, r.body)
		}
	}
}

func TestNotificationsAreNewestFirst(t *testing.T) {
	f := newFixture(t)
	b := f.openBirth("notifications")
	f.later()
	f.post("/v1/me/drafts/"+b.residence.String()+"/confirm", mother, "")
	f.later()
	f.post("/v1/me/drafts/"+b.allowance.String()+"/decline", mother, `{"reason":"not needed"}`)
	f.later()
	f.post("/v1/me/grants/"+b.queue.String()+"/withdraw", mother, "")

	var notes items
	f.get("/v1/me/notifications", mother).ok(t, &notes)
	if len(notes.Items) != 8 {
		t.Fatalf("%d notifications, want 8: %v", len(notes.Items), notes.Items)
	}
	want := [][2]string{{"kindergarten-queue", "withdrawn"}, {"child-allowance", "declined"}, {"residence-registration", "submitted"}}
	for i, w := range want {
		n := notes.Items[i]
		if n["service"] != w[0] || n["outcome"] != w[1] || n["kind"] != "outcome" {
			t.Errorf("notification %d = %v, want %v", i, n, w)
		}
	}
	var last time.Time
	for i, n := range notes.Items {
		at, err := time.Parse(time.RFC3339, n["at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && at.After(last) {
			t.Errorf("notification %d at %s is newer than the one before it", i, at)
		}
		last = at
		text := n["text"].(object)
		if text["ru"] == "" || text["en"] == "" {
			t.Errorf("notification %d has no text: %v", i, n)
		}
	}
	// The newborn beneficiary is told nothing.
	f.get("/v1/me/notifications", child).ok(t, &notes)
	if len(notes.Items) != 0 {
		t.Errorf("the child has notifications: %v", notes.Items)
	}
}
