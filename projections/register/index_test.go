package register_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

func recorded(t *testing.T, typ lifeevent.Type, data map[string]any) eventstore.RecordedEvent {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.RecordedEvent{Event: eventstore.Event{ID: uuid.New(), Type: string(typ), Data: b}}
}

func TestIndexFoldsPersonsBirthsAndDeaths(t *testing.T) {
	x := register.NewIndex()
	mother, child, stranger := uuid.New(), uuid.New(), uuid.New()
	events := []eventstore.RecordedEvent{
		recorded(t, lifeevent.PersonRegistered, map[string]any{"person_id": mother, "birth_date": "1990-05-01"}),
		recorded(t, lifeevent.BirthRegistered, map[string]any{"child_id": child, "mother_id": mother, "birth_date": "2026-02-10"}),
		recorded(t, lifeevent.DeathRegistered, map[string]any{"person_id": mother, "informant_id": child, "date_of_death": "2026-02-20"}),
		recorded(t, lifeevent.DeathRegistered, map[string]any{"person_id": stranger, "informant_id": child, "date_of_death": "2026-02-20"}),
		recorded(t, "age.reached", map[string]any{"person_id": child}),
	}
	for _, e := range events {
		if err := x.Apply(e); err != nil {
			t.Fatalf("apply %s: %v", e.Type, err)
		}
	}
	// A re-registration corrects the birth date and keeps the death.
	if err := x.Apply(recorded(t, lifeevent.PersonRegistered, map[string]any{"person_id": mother, "birth_date": "1990-05-02"})); err != nil {
		t.Fatal(err)
	}
	if k, ok := x.Person(mother); !ok || k.BirthDate.String() != "1990-05-02" || !k.Dead {
		t.Errorf("mother %+v %v", k, ok)
	}
	if k, ok := x.Person(child); !ok || k.BirthDate.String() != "2026-02-10" || k.Dead {
		t.Errorf("child %+v %v", k, ok)
	}
	if _, ok := x.Person(stranger); ok {
		t.Error("a death made an unknown person known")
	}
	if x.Len() != 2 {
		t.Errorf("len %d, want 2", x.Len())
	}
	if err := x.Apply(recorded(t, lifeevent.PersonRegistered, map[string]any{"birth_date": 7})); err == nil {
		t.Error("undecodable data applied")
	}
}

func TestOverlayIsPrivate(t *testing.T) {
	x := register.NewIndex()
	known := uuid.New()
	if err := x.Apply(recorded(t, lifeevent.PersonRegistered, map[string]any{"person_id": known, "birth_date": "1990-05-01"})); err != nil {
		t.Fatal(err)
	}
	o := register.NewOverlay(x)
	added := uuid.New()
	o.Apply(&lifeevent.PersonRegisteredData{PersonID: added, BirthDate: lifeevent.Date{Year: 2000, Month: 1, Day: 1}})
	o.Apply(&lifeevent.DeathRegisteredData{PersonID: known})

	if _, ok := o.Person(added); !ok {
		t.Error("overlay does not see its own person")
	}
	if k, _ := o.Person(known); !k.Dead {
		t.Error("overlay does not see its own death of a registered person")
	}
	if _, ok := x.Person(added); ok {
		t.Error("the overlay leaked into the index")
	}
	if k, _ := x.Person(known); k.Dead {
		t.Error("the overlay's death leaked into the index")
	}
}
