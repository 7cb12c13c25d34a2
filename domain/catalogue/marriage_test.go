package catalogue

import "testing"

func marriageInput(t *testing.T, newNames map[string]any) Input {
	t.Helper()
	data := map[string]any{"record_number": "M-77", "spouse_ids": []any{"anna", "boris"}, "date": "2026-07-04"}
	if newNames != nil {
		data["new_family_names"] = newNames
	}
	return Input{
		EventType: "marriage.registered", EventID: "ev-marriage", Data: data,
		People: map[string]Person{
			"anna":  {FamilyName: "Смирнова", GivenName: "Анна", BirthDate: "1996-02-02", Citizenship: "RU"},
			"boris": {FamilyName: "Котов", GivenName: "Борис", BirthDate: "1994-05-05", Citizenship: "RU"},
		},
		Today: day(t, "2026-07-05"),
	}
}

func TestMarriageOneSpouseChangesName(t *testing.T) {
	d := decide(t, "marriage", marriageInput(t, map[string]any{"anna": "Котова"}))
	if len(d.Steps) != 1 {
		t.Fatalf("steps %v", keys(d))
	}
	s := stepByKey(t, d, "passport-replacement[anna]")
	wantOutcome(t, s, OutcomeDrafted)
	if s.Applicant != "anna" || s.Deadline != "2026-08-03" {
		t.Fatalf("applicant %q deadline %s", s.Applicant, s.Deadline)
	}
	if s.Prefill["family_name"] != "Котова" || s.Prefill["previous_family_name"] != "Смирнова" || s.Prefill["reason"] != "marriage" {
		t.Fatalf("prefill %v", s.Prefill)
	}
	if s.OnExpiry != "" || len(s.Reminders) != 0 {
		t.Fatalf("the marriage passport has no milestone reminders: %v %q", s.Reminders, s.OnExpiry)
	}
	want := []string{"driving-licence-replacement", "foreign-passport-replacement", "snils-update", "tax-record-update"}
	if len(s.FollowUps) != len(want) {
		t.Fatalf("follow-ups %v", s.FollowUps)
	}
	for i := range want {
		if s.FollowUps[i] != want[i] {
			t.Fatalf("follow-ups %v, want %v", s.FollowUps, want)
		}
	}
}

func TestMarriageBothSpousesChangeName(t *testing.T) {
	d := decide(t, "marriage", marriageInput(t, map[string]any{"boris": "Смирнов-Котов", "anna": "Смирнова-Котова"}))
	if len(d.Steps) != 2 || d.Steps[0].Applicant != "anna" || d.Steps[1].Applicant != "boris" {
		t.Fatalf("steps %v", keys(d))
	}
	if d.Steps[1].Prefill["family_name"] != "Смирнов-Котов" {
		t.Fatalf("prefill %v", d.Steps[1].Prefill)
	}
}

func TestMarriageWithoutNameChangeOffersNothing(t *testing.T) {
	if d := decide(t, "marriage", marriageInput(t, nil)); len(d.Steps) != 0 {
		t.Fatalf("steps %v", keys(d))
	}
}

func TestMarriageFollowUpsAfterConfirmation(t *testing.T) {
	in := marriageInput(t, map[string]any{"anna": "Котова"})
	sit := situation(t, "marriage")
	parent := stepByKey(t, decide(t, "marriage", in), "passport-replacement[anna]")
	in.Today = day(t, "2026-07-20")
	// The citizen corrected her new name when confirming.
	d, err := DecideFollowUps(sit, parent, map[string]any{"family_name": "Котова-Смирнова"}, in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{
		"passport-replacement[anna]/driving-licence-replacement":  OutcomeDrafted,
		"passport-replacement[anna]/foreign-passport-replacement": OutcomeDrafted,
		"passport-replacement[anna]/snils-update":                 OutcomeGranted,
		"passport-replacement[anna]/tax-record-update":            OutcomeGranted,
	}
	if len(d.Steps) != len(want) {
		t.Fatalf("follow-ups %v", keys(d))
	}
	for key, outcome := range want {
		s := stepByKey(t, d, key)
		wantOutcome(t, s, outcome)
		if s.Applicant != "anna" || s.Prefill["family_name"] != "Котова-Смирнова" || s.Prefill["previous_family_name"] != "Смирнова" {
			t.Fatalf("%s: applicant %q prefill %v", key, s.Applicant, s.Prefill)
		}
		if s.Curator.Name == "" {
			t.Fatalf("%s has no curator", key)
		}
	}
	if s := stepByKey(t, d, "passport-replacement[anna]/driving-licence-replacement"); s.Deadline != "2026-10-18" {
		t.Fatalf("follow-up draft deadline %s, want 90 days from the offer", s.Deadline)
	}
}
