package register_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
)

// A Fold reads, as of every event, the families the register would give
// once it had applied (and committed) the same events, across its own
// commits; what it returned earlier is not changed by what it folds later.
func TestFoldReadsWhatApplyWouldCommit(t *testing.T) {
	f := newFixture(t)
	mother, father, child, twin := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	f.register(mother, "Petrova", "Maria", "1994-03-01", "F", "RU")
	f.register(father, "Ivanov", "Ivan", "1990-07-15", "M", "KZ")
	f.birth(child, mother, &father, "2026-02-20")
	f.append("person-"+mother.String(), "income.reported", map[string]any{"person_id": mother, "year": 2025, "annual_income_rub": 480000.5})
	f.append("person-"+mother.String(), "marriage.registered", map[string]any{
		"record_number": "m-1", "spouse_ids": []uuid.UUID{mother, father}, "date": "2026-02-26",
		"new_family_names": map[string]string{mother.String(): "Ivanova"},
	})
	f.birth(twin, mother, &father, "2026-02-20")
	f.append("person-"+mother.String(), "income.reported", map[string]any{"person_id": mother, "year": 2024, "annual_income_rub": 400000})
	f.append("person-"+mother.String(), "residence.changed", map[string]any{
		"person_id": mother, "from_region": "RU-MOW", "to_region": "RU-PRI", "address": "Vladivostok, Svetlanskaya 5",
		"time_zone": "Asia/Vladivostok", "effective_date": "2026-02-25",
	})
	f.append("person-"+father.String(), "death.registered", map[string]any{
		"record_number": "d-1", "person_id": father, "date_of_death": "2026-02-28", "informant_id": mother, "region": "RU-PRI",
	})
	events, err := f.store.ReadAll(context.Background(), 0, eventstore.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{mother.String(), father.String(), child.String(), twin.String(), uuid.NewString()}

	dir := t.TempDir()
	ref, err := register.OpenScratch(filepath.Join(dir, "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ref.Close() }()
	scratch, err := register.OpenScratch(filepath.Join(dir, "fold.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = scratch.Close() }()
	fold, err := scratch.BeginFold(3)
	if err != nil {
		t.Fatal(err)
	}
	defer fold.Rollback()
	mem := register.NewMemory()
	// And one given the events decoded ahead, as a replay's readers do.
	pre := register.NewMemory()

	type read struct {
		got  map[string]catalogue.Person
		want map[string]catalogue.Person
	}
	var reads []read
	for i := range events {
		if err := ref.Apply(events[i : i+1]); err != nil {
			t.Fatal(err)
		}
		// Twice, as a redelivery: the second is skipped.
		for range 2 {
			if err := fold.Apply(events[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := mem.Apply(events[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := pre.ApplyDecoded(events[i:i+1], []register.Decoded{register.Decode(&events[i])}); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			got, want := fold.Family(id), ref.Family(id)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after position %d, family of %s:\n got %+v\nwant %+v", events[i].Position, id, got, want)
			}
			inMemory := mem.Family(id)
			if !reflect.DeepEqual(inMemory, want) {
				t.Errorf("after position %d, family of %s in memory:\n got %+v\nwant %+v", events[i].Position, id, inMemory, want)
			}
			if decoded := pre.Family(id); !reflect.DeepEqual(decoded, want) {
				t.Errorf("after position %d, family of %s decoded ahead:\n got %+v\nwant %+v", events[i].Position, id, decoded, want)
			}
			reads = append(reads, read{got, ref.Family(id)}, read{inMemory, ref.Family(id)})
		}
	}
	for _, r := range reads {
		if !reflect.DeepEqual(r.got, r.want) {
			t.Fatalf("a family read earlier changed with later events:\n got %+v\nwant %+v", r.got, r.want)
		}
	}
	if err := fold.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := fold.Apply(events); err == nil {
		t.Error("Apply after Commit succeeded")
	}
	if scratch.Position() != ref.Position() || mem.Position() != ref.Position() {
		t.Errorf("position %d, want %d", scratch.Position(), ref.Position())
	}
	for _, id := range ids {
		got, gok := scratch.Facts(id)
		want, wok := ref.Facts(id)
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Errorf("committed facts of %s:\n got %+v\nwant %+v", id, got, want)
		}
		if got, want := scratch.BornOn(2026, 2, 20), ref.BornOn(2026, 2, 20); !reflect.DeepEqual(got, want) {
			t.Errorf("born on: %v, want %v", got, want)
		}
	}
}
