package catalogue

import (
	"strings"
	"testing"
)

func deathInput(t *testing.T, people map[string]Person) Input {
	t.Helper()
	return Input{
		EventType: "death.registered", EventID: "ev-death",
		Data: map[string]any{"record_number": "D-1", "person_id": "dead", "date_of_death": "2026-08-31",
			"informant_id": "informant", "region": "RU-MOW"},
		People: people,
		Today:  day(t, "2026-09-02"),
	}
}

func TestBereavement(t *testing.T) {
	people := map[string]Person{
		"dead":      {FamilyName: "Орлов", GivenName: "Иван", BirthDate: "1980-01-01", Dead: true, Children: []string{"kid", "grown", "orphan"}},
		"informant": {FamilyName: "Орлова", GivenName: "Вера", BirthDate: "1982-01-01"},
		"spouse":    {FamilyName: "Орлова", GivenName: "Нина", BirthDate: "1983-01-01"},
		"kid":       {BirthDate: "2016-05-05", Parents: []string{"dead", "spouse"}},
		"grown":     {BirthDate: "2008-08-30", Parents: []string{"dead", "spouse"}}, // 18 on the day of death
		"orphan":    {BirthDate: "2020-02-02", Parents: []string{"dead"}},
	}
	d := decide(t, "bereavement", deathInput(t, people))

	if len(d.WithdrawDraftsOf) != 1 || d.WithdrawDraftsOf[0] != "dead" {
		t.Fatalf("withdraw drafts of %v, want the deceased", d.WithdrawDraftsOf)
	}
	cert := stepByKey(t, d, "death-certificate")
	wantOutcome(t, cert, OutcomeGranted)
	if cert.Applicant != "informant" || cert.Registry != "civil-status" {
		t.Fatalf("certificate %+v", cert)
	}
	fb := stepByKey(t, d, "funeral-benefit")
	wantOutcome(t, fb, OutcomeDrafted)
	if fb.Applicant != "informant" || fb.Deadline != "2027-02-28" { // six months from 31 August
		t.Fatalf("funeral benefit applicant %q deadline %s", fb.Applicant, fb.Deadline)
	}
	for _, key := range []string{"pension-stop", "passport-cancellation"} {
		s := stepByKey(t, d, key)
		wantOutcome(t, s, OutcomeGranted)
		if s.Applicant != "dead" {
			t.Fatalf("%s applicant %q, want the deceased", key, s.Applicant)
		}
	}

	kid := stepByKey(t, d, "survivor-pension[kid]")
	wantOutcome(t, kid, OutcomeDrafted)
	if kid.Applicant != "spouse" || kid.Beneficiary != "kid" || kid.Deadline != "2027-08-31" || len(kid.Reasons) != 0 {
		t.Fatalf("survivor pension for kid: %+v", kid)
	}
	if hasStep(d, "survivor-pension[grown]") {
		t.Fatalf("survivor pension offered for a child of 18: %v", keys(d))
	}
	orphan := stepByKey(t, d, "survivor-pension[orphan]")
	if orphan.Applicant != "informant" || orphan.Beneficiary != "orphan" {
		t.Fatalf("orphan: applicant %q beneficiary %q", orphan.Applicant, orphan.Beneficiary)
	}
	wantReasons(t, orphan, ReasonNote, "")
	if !strings.Contains(reasonText(orphan), "other parent is not in the register") {
		t.Fatalf("orphan note %q", reasonText(orphan))
	}
}

func TestBereavementWithoutMinorChildren(t *testing.T) {
	people := map[string]Person{
		"dead":      {FamilyName: "Орлов", BirthDate: "1950-01-01", Dead: true, Children: []string{"grown"}},
		"informant": {FamilyName: "Орлова"},
		"grown":     {BirthDate: "1975-01-01", Parents: []string{"dead"}},
	}
	d := decide(t, "bereavement", deathInput(t, people))
	if len(d.Steps) != 4 {
		t.Fatalf("steps %v, want no survivor pension", keys(d))
	}
}
