package catalogue

import (
	"errors"
	"testing"
)

func milestoneInput(t *testing.T, age int, date, today, citizenship string) Input {
	t.Helper()
	return Input{
		EventType: "age.reached", EventID: "ev-age",
		// As decoded from JSON: numbers are float64.
		Data: map[string]any{"person_id": "p", "age": float64(age), "date": date},
		People: map[string]Person{"p": {FamilyName: "Петров", GivenName: "Пётр", BirthDate: "2006-03-10",
			Citizenship: citizenship, Region: "RU-SPE", Address: "Санкт-Петербург"}},
		Today: day(t, today),
	}
}

func TestPassportAt14(t *testing.T) {
	d := decide(t, "age-milestone", milestoneInput(t, 14, "2026-03-10", "2026-03-10", "RU"))
	if len(d.Steps) != 1 {
		t.Fatalf("steps %v, want only the passport at 14", keys(d))
	}
	s := stepByKey(t, d, "passport-issue")
	wantOutcome(t, s, OutcomeDrafted)
	if s.Applicant != "p" || s.Deadline != "2026-06-08" || s.Prefill["family_name"] != "Петров" || s.Prefill["reason"] != "age-14" {
		t.Fatalf("applicant %q deadline %s prefill %v", s.Applicant, s.Deadline, s.Prefill)
	}
	if p := paramUsed(t, s, "deadline.passport-age-days"); p.Value != int64(90) {
		t.Fatalf("deadline parameter %+v", p)
	}
}

func TestPassportAt14NonCitizenIsRejected(t *testing.T) {
	d := decide(t, "age-milestone", milestoneInput(t, 14, "2026-03-10", "2026-03-11", "KZ"))
	s := stepByKey(t, d, "passport-issue")
	wantOutcome(t, s, OutcomeRejected)
	wantReasons(t, s, ReasonRule, "citizen")
	if s.Deadline != "" {
		t.Fatalf("a rejection has no deadline: %s", s.Deadline)
	}
}

func TestPassportReplacementAt20And45(t *testing.T) {
	for _, age := range []int{20, 45} {
		d := decide(t, "age-milestone", milestoneInput(t, age, "2026-03-10", "2026-03-10", "RU"))
		if len(d.Steps) != 1 {
			t.Fatalf("age %d: steps %v", age, keys(d))
		}
		s := stepByKey(t, d, "passport-replacement")
		wantOutcome(t, s, OutcomeDrafted)
		if s.Deadline != "2026-06-08" || s.OnExpiry != "passport-expired" {
			t.Fatalf("age %d: deadline %s on expiry %q", age, s.Deadline, s.OnExpiry)
		}
		if len(s.Reminders) != 2 || s.Reminders[0] != "2026-04-09" || s.Reminders[1] != "2026-05-09" {
			t.Fatalf("age %d: reminders %v, want day 30 and 60", age, s.Reminders)
		}
	}
	notice, ok := defaultCatalogue(t).Service("passport-expired")
	if !ok || notice.Mode != ModeInform || notice.Curator.Name == "" {
		t.Fatalf("passport-expired notice %+v", notice)
	}
}

func TestPassportReplacementNonCitizenIsRejected(t *testing.T) {
	d := decide(t, "age-milestone", milestoneInput(t, 20, "2026-03-10", "2026-03-10", "UA"))
	s := stepByKey(t, d, "passport-replacement")
	wantOutcome(t, s, OutcomeRejected)
	wantReasons(t, s, ReasonRule, "citizen")
}

func TestLateRegistrationInsideTheWindowKeepsTheDeadlineAndLaterReminders(t *testing.T) {
	in := milestoneInput(t, 45, "2026-03-10", "2026-04-24", "RU") // registered 45 days late
	sit := situation(t, "age-milestone")
	if ok, err := InWindow(sit, "2026-03-10", in.Today); err != nil || !ok {
		t.Fatalf("45 days after the birthday is inside the window: %v %v", ok, err)
	}
	s := stepByKey(t, decide(t, "age-milestone", in), "passport-replacement")
	if s.Deadline != "2026-06-08" || len(s.Reminders) != 1 || s.Reminders[0] != "2026-05-09" {
		t.Fatalf("deadline %s reminders %v", s.Deadline, s.Reminders)
	}
}

func TestMilestoneWindowIs90Days(t *testing.T) {
	sit := situation(t, "age-milestone")
	for today, want := range map[string]bool{"2026-06-08": true, "2026-06-09": false, "2026-03-10": true} {
		got, err := InWindow(sit, "2026-03-10", day(t, today))
		if err != nil || got != want {
			t.Fatalf("today %s: in window %v (%v), want %v", today, got, err, want)
		}
	}
}

func TestOtherAgesOpenNothing(t *testing.T) {
	in := milestoneInput(t, 30, "2026-03-10", "2026-03-10", "RU")
	sit := situation(t, "age-milestone")
	if ok, err := Match(sit, in); err != nil || ok {
		t.Fatalf("age 30 matches: %v %v", ok, err)
	}
	if _, err := Decide(sit, in); !errors.Is(err, ErrNotTriggered) {
		t.Fatalf("Decide at 30: %v, want ErrNotTriggered", err)
	}
}

func TestEventDateComesFromTheTrigger(t *testing.T) {
	in := milestoneInput(t, 14, "2026-03-10", "2026-03-10", "RU")
	got, err := situation(t, "age-milestone").EventDate(in.Data)
	if err != nil || got != "2026-03-10" {
		t.Fatalf("event date %q %v", got, err)
	}
	in.EventDate = ""
	if d := decide(t, "age-milestone", in); d.EventDate != "2026-03-10" {
		t.Fatalf("decision event date %s", d.EventDate)
	}
}
