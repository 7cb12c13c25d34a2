package cabinet_test

import (
	"errors"
	"testing"
	"time"

	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

func TestCitizensSeeWhatConcernsThem(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-visibility")
	f.openSituation(b.opened(), b.steps()...)
	move := openMove(f)
	sonsGrant := situation.GrantID(situation.StepID(move, "tax-office-transfer"))
	sonsDraft := situation.StepID(move, "clinic-attachment")
	certificate, allowance := grantID(b.id, b.certificate), stepID(b.id, b.allowance)

	counts := func(person string) [3]int {
		d, _ := f.cab.Drafts(person)
		g, _ := f.cab.Grants(person)
		s, _ := f.cab.Situations(person)
		return [3]int{len(d), len(g), len(s)}
	}
	for person, want := range map[string][3]int{
		mother:   {2, 2, 1}, // applicant; not her adult son's
		child:    {2, 2, 1}, // beneficiary
		father:   {0, 2, 1}, // his minor child's grants; a participant
		adultSon: {1, 1, 1},
		stranger: {0, 0, 0},
	} {
		if got := counts(person); got != want {
			t.Errorf("%s sees drafts, grants, situations %v, want %v", person, got, want)
		}
	}

	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, cabinet.ErrNotFound) {
			t.Errorf("%s: %v, want not found", what, err)
		}
	}
	_, err := f.cab.DraftFor(mother, sonsDraft)
	notFound("the mother opens her adult son's draft", err)
	_, err = f.cab.GrantFor(mother, sonsGrant)
	notFound("the mother opens her adult son's grant", err)
	_, err = f.cab.SituationFor(mother, move)
	notFound("the mother opens her adult son's situation", err)
	_, err = f.cab.DraftFor(father, allowance)
	notFound("the father opens the mother's draft", err)
	_, err = f.cab.DraftFor(stranger, allowance)
	notFound("a stranger opens a draft", err)
	_, err = f.cab.GrantFor(stranger, certificate)
	notFound("a stranger opens a grant", err)
	_, err = f.cab.SituationFor(stranger, b.id)
	notFound("a stranger opens a situation", err)

	if _, err := f.cab.DraftFor(child, allowance); err != nil {
		t.Errorf("the beneficiary opens the draft: %v", err)
	}
	if _, err := f.cab.GrantFor(father, certificate); err != nil {
		t.Errorf("the father opens his minor child's grant: %v", err)
	}
	s, err := f.cab.SituationFor(father, b.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 2 || s.Steps[0].Service != "birth-certificate" || s.Steps[1].Service != "kindergarten-queue" {
		t.Errorf("the father sees the steps %+v, want his child's grants only", s.Steps)
	}
	if s, _ := f.cab.SituationFor(mother, b.id); len(s.Steps) != 5 {
		t.Errorf("the mother sees %d steps, want 5", len(s.Steps))
	}

	// The child turns 18 on 2044-02-20: the father no longer sees the grants.
	if err := f.clock.Set(time.Date(2044, 2, 19, 23, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if got := counts(father); got != [3]int{0, 2, 1} {
		t.Errorf("the day before the child's 18th birthday the father sees %v", got)
	}
	if err := f.clock.Set(time.Date(2044, 2, 20, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if got := counts(father); got != [3]int{0, 0, 1} {
		t.Errorf("on the child's 18th birthday the father sees %v", got)
	}
	_, err = f.cab.GrantFor(father, certificate)
	notFound("the father opens his adult child's grant", err)
	if s, _ := f.cab.SituationFor(father, b.id); len(s.Steps) != 0 {
		t.Errorf("the father still sees the steps %+v", s.Steps)
	}
}
