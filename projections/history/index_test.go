package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

func TestIndexKnowsWhichStreamsConcernWhom(t *testing.T) {
	mother, child, father := uuid.New(), uuid.New(), uuid.New()
	sit := uuid.New()
	step := situation.StepID(sit, "maternity-capital")
	grant := situation.GrantID(step)
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	x := NewIndex()
	events := []eventstore.RecordedEvent{
		{Event: eventstore.Event{Type: string(lifeevent.BirthRegistered), Data: raw(map[string]any{
			"record_number": "1", "child_id": child, "child_family_name": "И", "child_given_name": "П", "birth_date": "2026-03-05",
			"sex": "M", "mother_id": mother, "father_id": father, "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Москва"})},
			Stream: lifeevent.PersonStream(child), Position: 1},
		{Event: eventstore.Event{Type: situation.TypeOpened, Data: raw(situation.Opened{SituationID: sit, PersonID: mother.String(),
			Participants: []string{mother.String(), child.String()}})}, Stream: situation.Stream(sit), Position: 2},
		{Event: eventstore.Event{Type: situation.TypeStepDecided, Data: raw(situation.StepDecided{SituationID: sit, StepID: step, GrantID: grant,
			Decision: catalogue.StepDecision{Applicant: mother.String(), Beneficiary: mother.String()}})}, Stream: situation.Stream(sit), Position: 3},
	}
	for _, e := range events {
		if err := x.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []uuid.UUID{mother, father} {
		own, foreign, sits := x.Streams(p)
		if own != lifeevent.PersonStream(p) || len(foreign) != 1 || foreign[0] != lifeevent.PersonStream(child) {
			t.Fatalf("streams of %s: %s %v", p, own, foreign)
		}
		if p == mother && (len(sits) != 1 || sits[0] != sit) {
			t.Fatalf("situations of the mother: %v", sits)
		}
	}
	if _, foreign, sits := x.Streams(child); len(foreign) != 0 || len(sits) != 1 {
		t.Fatalf("the child's own stream is not foreign to them: %v %v", foreign, sits)
	}
	if s, st, isGrant, ok := x.Locate(grant); !ok || !isGrant || s != sit || st != step {
		t.Fatalf("locate the grant: %v %v %v %v", s, st, isGrant, ok)
	}
	if _, _, _, ok := x.Locate(uuid.New()); ok {
		t.Fatal("an unknown id is located")
	}
	if x.Position() != 3 {
		t.Fatalf("position %d", x.Position())
	}
}

func TestWordsSayWhyInEitherLanguage(t *testing.T) {
	ex := Explanation{
		Kind: KindRejection, Decided: catalogue.OutcomeRejected, Outcome: catalogue.OutcomeRejected,
		Step:      StepRef{Service: "maternity-capital", Title: catalogue.Text{RU: "Материнский капитал", EN: "Maternity capital"}, Applicant: "p1"},
		Situation: SituationRef{Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"}, PersonID: "p1"},
		Trigger:   Event{Type: "birth.registered", Source: "urn:registry:civil-status", Position: 7, RecordedAt: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)},
		Catalogue: CatalogueRef{Version: "2026.11", Hash: "abc"},
		Rules:     []catalogue.RuleCheck{{Rule: "citizen", Passed: false}},
		Reasons:   []catalogue.Reason{{Text: catalogue.Text{RU: "Мать не гражданка РФ.", EN: "The mother is not a citizen."}}},
		Facts:     map[string]catalogue.Person{"p1": {FamilyName: "Сейткали", GivenName: "Айгерим", Citizenship: "KZ"}},
	}
	en, ru := Words(ex, "en"), Words(ex, "ru")
	for _, want := range []string{"Maternity capital", "citizen: NOT met", "The mother is not a citizen.", "Сейткали Айгерим (p1)", "2026.11", "birth.registered"} {
		if !strings.Contains(en, want) {
			t.Errorf("English lacks %q:\n%s", want, en)
		}
	}
	for _, want := range []string{"Материнский капитал", "НЕ выполнено", "отказано", "Мать не гражданка РФ."} {
		if !strings.Contains(ru, want) {
			t.Errorf("Russian lacks %q:\n%s", want, ru)
		}
	}
}
