package ingest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/domain/lifeevent"
)

func TestOnlyRegistriesSendEvents(t *testing.T) {
	f := newFixture(t, nil)
	person := uuid.New()
	for _, role := range []auth.Role{auth.RoleCitizen, auth.RoleAgency, auth.RoleAuditor, auth.RoleOperator} {
		srv := f.server(auth.Principal{Role: role, Subject: lifeevent.SourcePopulation})
		if status := sendCE(t, srv, personRegistered(person, "1990-05-01")); status != http.StatusForbidden {
			t.Errorf("role %s: status %d, want 403", role, status)
		}
	}
	if got := f.lastPosition(); got != 0 {
		t.Fatalf("store at %d after 403s", got)
	}
}

func TestRegistrySendsOnlyTheTypesItOwns(t *testing.T) {
	f := newFixture(t, nil)
	mother := uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	before := f.lastPosition()

	// The population register sending a birth: a civil-status type.
	pop := f.server(population)
	birth := birthRegistered(uuid.New(), mother, "2026-02-10")
	birth.SetSource(lifeevent.SourcePopulation)
	if status := sendCE(t, pop, birth); status != http.StatusForbidden {
		t.Fatalf("SDK client: status %d, want 403", status)
	}
	postEvent(t, pop, birth).wantProblem(t, http.StatusForbidden, "/type")

	// The tax registry sending a residence change, in the middle of a batch.
	taxSrv := f.server(tax)
	move := residenceChanged(mother)
	move.SetSource(lifeevent.SourceTax)
	r := postBatch(t, taxSrv, incomeReported(mother, 2025), move)
	r.wantProblem(t, http.StatusForbidden, "/1/type")
	if !strings.Contains(r.problem.Detail, "1") {
		t.Errorf("detail %q does not name index 1", r.problem.Detail)
	}
	if got := f.lastPosition(); got != before {
		t.Fatalf("store moved from %d to %d after a 403", before, got)
	}
}

func TestSourceMustBeTheTokensSubject(t *testing.T) {
	f := newFixture(t, nil)
	mother := uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	before := f.lastPosition()

	// The civil-status token sending an event that claims to come from the
	// population register: the type belongs to that source, but the token
	// does not.
	civil := f.server(civilStatus)
	if status := sendCE(t, civil, personRegistered(uuid.New(), "1990-05-01")); status != http.StatusForbidden {
		t.Fatalf("SDK client: status %d, want 403", status)
	}
	r := postBatch(t, civil,
		birthRegistered(uuid.New(), mother, "2026-02-10"),
		personRegistered(uuid.New(), "1990-05-01"),
		deathRegistered(uuid.New(), mother), // invalid too, but 403 comes first
		personRegistered(uuid.New(), "1991-05-01"),
	)
	r.wantProblem(t, http.StatusForbidden, "/1/source", "/3/source")
	if !strings.Contains(r.problem.Detail, "1, 3") {
		t.Errorf("detail %q does not name indexes 1 and 3", r.problem.Detail)
	}
	if got := f.lastPosition(); got != before {
		t.Fatalf("store moved from %d to %d after a 403", before, got)
	}
}

func TestRequestWithoutPrincipalIsUnauthorized(t *testing.T) {
	f := newFixture(t, nil)
	// The handler alone, with no middleware to set a principal.
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	postEvent(t, srv, personRegistered(uuid.New(), "1990-05-01")).wantProblem(t, http.StatusUnauthorized)
}
