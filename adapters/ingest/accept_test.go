package ingest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"lifesituations/adapters/ingest"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

func TestAcceptedEventIsStoredOnceAndResendIsDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	person := uuid.New()
	e := personRegistered(person, "1990-05-01")

	if status := sendCE(t, srv, e); status != http.StatusAccepted {
		t.Fatalf("first send: status %d, want 202", status)
	}
	postEvent(t, srv, e).wantAccepted(t, 0, 1)
	if status := sendCE(t, srv, e); status != http.StatusAccepted {
		t.Fatalf("resend: status %d, want 202", status)
	}

	stored := f.stream(person)
	if len(stored) != 1 {
		t.Fatalf("stream holds %d events, want 1", len(stored))
	}
	got := stored[0]
	wantID := lifeevent.EventID(lifeevent.SourcePopulation, e.ID())
	if got.ID != wantID || got.Type != string(lifeevent.PersonRegistered) || got.SchemaVersion != 1 {
		t.Errorf("stored id %s type %s schema %d, want %s person.registered 1", got.ID, got.Type, got.SchemaVersion, wantID)
	}
	m := got.Metadata
	if !m.OccurredAt.Equal(e.Time()) || m.Source != lifeevent.SourcePopulation || m.SourceEventID != e.ID() ||
		m.CorrelationID != wantID.String() || m.Actor != lifeevent.SourcePopulation {
		t.Errorf("stored metadata %+v", m)
	}
	data, err := lifeevent.Decode(lifeevent.PersonRegistered, got.Data)
	if err != nil {
		t.Fatalf("stored data: %v", err)
	}
	if d := data.(*lifeevent.PersonRegisteredData); d.PersonID != person || d.BirthDate.String() != "1990-05-01" || d.TimeZone != "Europe/Moscow" {
		t.Errorf("stored data %+v", d)
	}
	if k, ok := f.index.Person(person); !ok || k.BirthDate.String() != "1990-05-01" {
		t.Errorf("register: %+v %v, want the person born 1990-05-01", k, ok)
	}
}

func TestResendIsDuplicateEvenWhenItWouldNowBeInvalid(t *testing.T) {
	f := newFixture(t, nil)
	mother, child := uuid.New(), uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	birth := birthRegistered(child, mother, "2026-02-10")
	f.seed(birth)

	// The population register corrects the mother's birth date to after the
	// child's: the birth would now be refused, but it is already stored.
	correction := personRegistered(mother, "2026-02-20")
	f.seed(correction)
	srv := f.server(civilStatus)
	postEvent(t, srv, birth).wantAccepted(t, 0, 1)

	// The same key with other content is still the same event.
	changed := withData(t, birth, func(d map[string]any) { d["birth_date"] = "not a date" })
	postEvent(t, srv, changed).wantAccepted(t, 0, 1)

	// And it stays a duplicate however far the clock moves.
	if err := f.clock.Advance(24 * time.Hour * 365); err != nil {
		t.Fatal(err)
	}
	postEvent(t, srv, birth).wantAccepted(t, 0, 1)
	if n := len(f.stream(child)); n != 1 {
		t.Fatalf("child's stream holds %d events, want 1", n)
	}

	// A new event with that content is refused.
	postEvent(t, srv, birthRegistered(uuid.New(), mother, "2026-02-10")).wantProblem(t, http.StatusBadRequest, "/data/birth_date")
}

func TestBatchRegistersMotherThenChild(t *testing.T) {
	f := newFixture(t, nil)
	mother, child := uuid.New(), uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))

	civil := f.server(civilStatus)
	birth := birthRegistered(child, mother, "2026-02-10")
	// The birth goes to the mother's stream this time, and the same batch
	// refers to the child it introduces.
	birth.SetSubject(mother.String())
	death := deathRegistered(child, mother)
	postBatch(t, civil, birth, death).wantAccepted(t, 2, 0)

	if n := len(f.stream(mother)); n != 2 {
		t.Fatalf("mother's stream holds %d events, want 2 (registered, birth)", n)
	}
	if k, ok := f.index.Person(child); !ok || k.BirthDate.String() != "2026-02-10" || !k.Dead {
		t.Fatalf("register: child %+v %v, want known, born 2026-02-10, dead", k, ok)
	}
	// The next request sees the child too.
	postEvent(t, f.server(residence), residenceChanged(child)).wantAccepted(t, 1, 0)
}

func TestBatchSeesOnlyEarlierEvents(t *testing.T) {
	f := newFixture(t, nil)
	mother, child := uuid.New(), uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	civil := f.server(civilStatus)
	// The death refers to a child the batch introduces only after it.
	postBatch(t, civil, deathRegistered(child, mother), birthRegistered(child, mother, "2026-02-10")).
		wantProblem(t, http.StatusBadRequest, "/0/data/person_id")
	if _, ok := f.index.Person(child); ok {
		t.Fatal("register knows the child of a rejected batch")
	}
}

func TestBatchIsAtomicAndListsEveryInvalidEvent(t *testing.T) {
	f := newFixture(t, nil)
	before := f.lastPosition()
	pop := f.server(population)
	bad1 := withData(t, personRegistered(uuid.New(), "1990-05-01"), func(d map[string]any) { d["sex"] = "X" })
	bad3 := withData(t, personRegistered(uuid.New(), "1990-05-01"), func(d map[string]any) {
		delete(d, "family_name")
		d["birth_date"] = "1990-02-30"
	})
	postBatch(t, pop,
		personRegistered(uuid.New(), "1990-05-01"),
		bad1,
		personRegistered(uuid.New(), "1991-05-01"),
		bad3,
	).wantProblem(t, http.StatusBadRequest, "/1/data/sex", "/3/data/family_name", "/3/data/birth_date")

	if got := f.lastPosition(); got != before {
		t.Fatalf("store moved from %d to %d after a rejected batch", before, got)
	}
	if n := f.index.Len(); n != 0 {
		t.Fatalf("register knows %d persons after a rejected batch", n)
	}
}

func TestDuplicateWithinBatchIsStoredOnce(t *testing.T) {
	f := newFixture(t, nil)
	person := uuid.New()
	e := personRegistered(person, "1990-05-01")
	pop := f.server(population)
	postBatch(t, pop, e, e).wantAccepted(t, 1, 1)
	postBatch(t, pop, e, personRegistered(uuid.New(), "1990-05-01")).wantAccepted(t, 1, 1)
	// The second time the key comes, its content is not even looked at.
	again := personRegistered(uuid.New(), "1990-05-01")
	postBatch(t, pop, again, withData(t, again, func(d map[string]any) { d["sex"] = "X" })).wantAccepted(t, 1, 1)
	if n := len(f.stream(person)); n != 1 {
		t.Fatalf("stream holds %d events, want 1", n)
	}
}

func TestEmptyBatchStoresNothing(t *testing.T) {
	f := newFixture(t, nil)
	post(t, f.server(population), event.ApplicationCloudEventsBatchJSON, []byte(`[]`)).wantAccepted(t, 0, 0)
	if got := f.lastPosition(); got != 0 {
		t.Fatalf("store at %d", got)
	}
}

func TestEveryTypeFromItsOwnerIsAccepted(t *testing.T) {
	f := newFixture(t, nil)
	a, b, child := uuid.New(), uuid.New(), uuid.New()
	f.seed(personRegistered(a, "1990-05-01"), personRegistered(b, "1988-01-01"))
	birth := birthRegistered(child, a, "2026-02-10")
	birth = withData(t, birth, func(d map[string]any) { d["father_id"] = b.String() })
	f.seed(
		birth,
		residenceChanged(a),
		marriageRegistered(a, b),
		incomeReported(b, 2025),
		deathRegistered(b, a),
	)
	if n := len(f.stream(a)); n != 3 {
		t.Errorf("a's stream holds %d events, want 3", n)
	}
	if n := len(f.stream(b)); n != 3 {
		t.Errorf("b's stream holds %d events, want 3", n)
	}
	if k, _ := f.index.Person(b); !k.Dead {
		t.Errorf("register: b is not dead")
	}
}

func TestRegisterRebuiltFromStoreKnowsAcceptedPersons(t *testing.T) {
	f := newFixture(t, nil)
	mother, child := uuid.New(), uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"), birthRegistered(child, mother, "2026-02-10"), deathRegistered(mother, child))

	rebuilt := register.NewIndex()
	if err := rebuilt.Rebuild(context.Background(), f.store); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if k, ok := rebuilt.Person(mother); !ok || k.BirthDate.String() != "1990-05-01" || !k.Dead {
		t.Errorf("mother: %+v %v", k, ok)
	}
	if k, ok := rebuilt.Person(child); !ok || k.BirthDate.String() != "2026-02-10" || k.Dead {
		t.Errorf("child: %+v %v", k, ok)
	}

	// A handler over the rebuilt register accepts what refers to them.
	h, err := ingest.NewHandler(ingest.Config{Store: f.store, Register: rebuilt, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	postEvent(t, f.server(tax), incomeReported(child, 2026)).wantAccepted(t, 1, 0)
}
