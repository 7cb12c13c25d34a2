package catalogue

import (
	"testing"
	"time"
)

// benchBirth is a birth to a mother with an older child and a father, both
// with incomes: every step of birth-of-child is decided, with its lets,
// rules, notes and prefill.
func benchBirth() Input {
	mother := Person{ID: "mother", FamilyName: "Иванова", GivenName: "Мария", BirthDate: "1995-04-01", Sex: "F",
		Citizenship: "RU", Region: "RU-MOW", Address: "Москва, ул. Ленина, 1", TimeZone: "Europe/Moscow",
		Children: []string{"older", "child"}, Incomes: map[string]float64{"2024": 600000, "2025": 640000}}
	father := Person{ID: "father", FamilyName: "Иванов", GivenName: "Пётр", BirthDate: "1993-02-11", Sex: "M",
		Citizenship: "RU", Region: "RU-MOW", Children: []string{"older", "child"}, Incomes: map[string]float64{"2025": 900000}}
	people := map[string]Person{
		"mother": mother, "father": father,
		"older": {ID: "older", BirthDate: "2021-05-05", Parents: []string{"mother", "father"}},
		"child": {ID: "child", BirthDate: "2026-10-01", Parents: []string{"mother", "father"}},
	}
	data := map[string]any{
		"record_number": "170-2026-001", "child_id": "child", "child_family_name": "Иванова",
		"child_given_name": "Анна", "birth_date": "2026-10-01", "sex": "F", "mother_id": "mother", "father_id": "father",
		"region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "ул. Ленина, 1",
	}
	return Input{EventType: "birth.registered", EventID: "ev-birth", Data: data, EventDate: "2026-10-01", People: people,
		Today: time.Date(2026, 10, 4, 12, 0, 0, 0, time.UTC)}
}

func BenchmarkDecideBirth(b *testing.B) {
	cat, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	sit, _ := cat.Situation("birth-of-child")
	in := benchBirth()
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decide(sit, in)
		if err != nil || len(d.Steps) != 7 {
			b.Fatalf("%d steps, %v", len(d.Steps), err)
		}
	}
}

func BenchmarkEventDateBirth(b *testing.B) {
	cat, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	sit, _ := cat.Situation("birth-of-child")
	in := benchBirth()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sit.EventDate(in.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// benchInputs are one life event of each situation, as in the burst of
// bench population: a move with school children, a death with a family, a
// marriage with name changes, a birth and a milestone.
func benchInputs() map[string]Input {
	today := time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC)
	mover := Person{ID: "p", FamilyName: "Сидоров", GivenName: "Олег", BirthDate: "1985-01-01", Citizenship: "RU",
		Region: "RU-MOW", Children: []string{"kid", "teen"}, Granted: []string{"kindergarten-queue"}}
	return map[string]Input{
		"birth-of-child": benchBirth(),
		"move": {EventType: "residence.changed", EventID: "ev-move", Today: today,
			Data: map[string]any{"person_id": "p", "from_region": "RU-MOW", "to_region": "RU-TAT",
				"address": "Казань, ул. Баумана, 5", "time_zone": "Europe/Moscow", "effective_date": "2026-09-01"},
			People: map[string]Person{"p": mover,
				"kid":  {ID: "kid", BirthDate: "2015-01-01", Parents: []string{"p"}},
				"teen": {ID: "teen", BirthDate: "2010-01-01", Parents: []string{"p"}}}},
		"bereavement": {EventType: "death.registered", EventID: "ev-death", Today: today,
			Data: map[string]any{"record_number": "D-1", "person_id": "dead", "date_of_death": "2026-08-31",
				"informant_id": "informant", "region": "RU-MOW"},
			People: map[string]Person{
				"dead":      {FamilyName: "Орлов", GivenName: "Иван", BirthDate: "1950-01-01", Dead: true, Children: []string{"kid", "informant"}},
				"informant": {FamilyName: "Орлова", GivenName: "Вера", BirthDate: "1982-01-01", Parents: []string{"dead"}},
				"kid":       {BirthDate: "2016-05-05", Parents: []string{"dead"}}}},
		"marriage": {EventType: "marriage.registered", EventID: "ev-marriage", Today: today,
			Data: map[string]any{"record_number": "M-77", "spouse_ids": []any{"anna", "boris"}, "date": "2026-08-04",
				"new_family_names": map[string]any{"anna": "Котова"}},
			People: map[string]Person{
				"anna":  {FamilyName: "Смирнова", GivenName: "Анна", BirthDate: "1996-02-02", Citizenship: "RU"},
				"boris": {FamilyName: "Котов", GivenName: "Борис", BirthDate: "1994-05-05", Citizenship: "RU"}}},
		"age-milestone": {EventType: "age.reached", EventID: "ev-age", Today: today,
			Data: map[string]any{"person_id": "p", "age": float64(20), "date": "2026-09-01"},
			People: map[string]Person{"p": {FamilyName: "Петров", GivenName: "Пётр", BirthDate: "2006-09-01",
				Citizenship: "RU", Region: "RU-SPE", Address: "Санкт-Петербург"}}},
	}
}

// BenchmarkDecideEach decides each situation's event in turn.
func BenchmarkDecideEach(b *testing.B) {
	cat, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	type job struct {
		sit *Situation
		in  Input
	}
	var jobs []job
	for id, in := range benchInputs() {
		sit, ok := cat.Situation(id)
		if !ok {
			b.Fatalf("no situation %s", id)
		}
		if d, err := Decide(sit, in); err != nil || len(d.Steps) == 0 {
			b.Fatalf("%s: %d steps, %v", id, len(d.Steps), err)
		}
		jobs = append(jobs, job{sit, in})
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, j := range jobs {
			if _, err := Decide(j.sit, j.in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
