package catalogue

import "testing"

func moveInput(t *testing.T, from, to string, mover Person, children ...Person) Input {
	t.Helper()
	people := map[string]Person{"p": mover}
	for _, c := range children {
		mover.Children = append(mover.Children, c.ID)
		people[c.ID] = c
	}
	people["p"] = mover
	return Input{
		EventType: "residence.changed", EventID: "ev-move",
		Data: map[string]any{"person_id": "p", "from_region": from, "to_region": to,
			"address": "Казань, ул. Баумана, 5", "time_zone": "Europe/Moscow", "effective_date": "2026-09-01"},
		People: people,
		Today:  day(t, "2026-09-02"),
	}
}

func adult() Person {
	return Person{FamilyName: "Сидоров", GivenName: "Олег", BirthDate: "1985-01-01", Citizenship: "RU", Region: "RU-MOW"}
}

func TestMoveWithinOneRegion(t *testing.T) {
	d := decide(t, "move", moveInput(t, "RU-MOW", "RU-MOW", adult()))
	wantOutcome(t, stepByKey(t, d, "clinic-attachment"), OutcomeDrafted)
	wantOutcome(t, stepByKey(t, d, "voter-registration-update"), OutcomeGranted)
	for _, key := range []string{"health-insurance-update", "tax-office-transfer"} {
		if hasStep(d, key) {
			t.Fatalf("%s offered for a move within one region: %v", key, keys(d))
		}
	}
	if len(d.Steps) != 2 {
		t.Fatalf("steps %v", keys(d))
	}
}

func TestMoveBetweenRegions(t *testing.T) {
	d := decide(t, "move", moveInput(t, "RU-MOW", "RU-TAT", adult()))
	hi := stepByKey(t, d, "health-insurance-update")
	wantOutcome(t, hi, OutcomeDrafted)
	if hi.Prefill["to_region"] != "RU-TAT" || hi.Deadline != "2026-10-02" {
		t.Fatalf("prefill %v deadline %s", hi.Prefill, hi.Deadline)
	}
	tax := stepByKey(t, d, "tax-office-transfer")
	wantOutcome(t, tax, OutcomeGranted)
	if tax.Registry != "taxpayers" || tax.Applicant != "p" {
		t.Fatalf("tax transfer %+v", tax)
	}
}

func TestSchoolTransferForChildrenAged7To17(t *testing.T) {
	// Ages on the effective date 2026-09-01.
	d := decide(t, "move", moveInput(t, "RU-MOW", "RU-TAT", adult(),
		Person{ID: "six", BirthDate: "2019-09-02", GivenName: "Шесть"},
		Person{ID: "seven", BirthDate: "2019-09-01", GivenName: "Семь"},
		Person{ID: "seventeen", BirthDate: "2008-09-02", GivenName: "Семнадцать"},
		Person{ID: "eighteen", BirthDate: "2008-09-01", GivenName: "Восемнадцать"},
	))
	var got []string
	for _, s := range d.Steps {
		if s.Service == "school-transfer" {
			got = append(got, s.Beneficiary)
			wantOutcome(t, s, OutcomeDrafted)
			if s.Applicant != "p" || s.Prefill["child_id"] != s.Beneficiary || s.Prefill["region"] != "RU-TAT" {
				t.Fatalf("school transfer %+v", s)
			}
		}
	}
	if len(got) != 2 || got[0] != "seven" || got[1] != "seventeen" {
		t.Fatalf("school transfers for %v, want seven and seventeen", got)
	}
	if s := stepByKey(t, d, "school-transfer[seven]"); s.Prefill["age"] != int64(7) || s.Deadline != "2026-10-02" {
		t.Fatalf("prefill %v deadline %s", s.Prefill, s.Deadline)
	}
}

func TestVoterRegistrationRejectsMinorNonCitizenWithBothReasons(t *testing.T) {
	teen := Person{FamilyName: "Ли", BirthDate: "2010-01-01", Citizenship: "KR", Region: "RU-MOW"}
	s := stepByKey(t, decide(t, "move", moveInput(t, "RU-MOW", "RU-NVS", teen)), "voter-registration-update")
	wantOutcome(t, s, OutcomeRejected)
	wantReasons(t, s, ReasonRule, "citizen", "adult")
}

func TestVoterRegistrationAt18(t *testing.T) {
	p := adult()
	p.BirthDate = "2008-09-01" // 18 on the effective date
	wantOutcome(t, stepByKey(t, decide(t, "move", moveInput(t, "RU-MOW", "RU-MOW", p)), "voter-registration-update"), OutcomeGranted)
	p.BirthDate = "2008-09-02"
	wantOutcome(t, stepByKey(t, decide(t, "move", moveInput(t, "RU-MOW", "RU-MOW", p)), "voter-registration-update"), OutcomeRejected)
}
