package cabinet

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// BenchmarkBurst folds, batch by batch, what a burst of the core records:
// many situations, each opened with 5-8 step decisions of realistic size
// (the trigger's data, the facts, long titles and legal bases, rule checks),
// in batches of a few sagas' appends (a fold keeping up) and of 500 (a fold
// behind). With CABINET_BENCH_EVENTS set to a file of recorded events (JSON
// lines of eventstore.RecordedEvent), it folds those instead.
func BenchmarkBurst(b *testing.B) {
	events := burstEvents(b)
	for _, size := range []int{32, 500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c, err := Open(filepath.Join(b.TempDir(), "cabinet.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for i := 0; i < len(events); i += size {
					if err := c.apply(events[i:min(i+size, len(events))]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func burstEvents(b *testing.B) []eventstore.RecordedEvent {
	if path := os.Getenv("CABINET_BENCH_EVENTS"); path != "" {
		return recordedEvents(b, path)
	}
	var out []eventstore.RecordedEvent
	for i := range 1500 {
		out = append(out, burstSituation(b, i, eventstore.Position(len(out)+1))...)
	}
	return out
}

func recordedEvents(b *testing.B, path string) []eventstore.RecordedEvent {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []eventstore.RecordedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e eventstore.RecordedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			b.Fatal(err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// burstSituation is situation i opened with 5 to 8 steps, as recorded from
// position pos on.
func burstSituation(b testing.TB, i int, pos eventstore.Position) []eventstore.RecordedEvent {
	person := func(n int) string { return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d/%d", i, n)).String() }
	mother, child, father := person(0), person(1), person(2)
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("", 5*3600))
	fact := func(id, birth string) catalogue.Person {
		return catalogue.Person{ID: id, FamilyName: "Зайцева", GivenName: "Валерия", BirthDate: birth, Sex: "F",
			Citizenship: "RU", Region: "RU-SVE", TimeZone: "Asia/Yekaterinburg",
			Address: "Екатеринбург, ул. Пушкина, д. 74, кв. 45", Children: []string{child}}
	}
	trigger, _ := json.Marshal(map[string]string{
		"record_number": "660-2025-00015802", "child_id": child, "child_family_name": "Борисова",
		"child_given_name": "Алина", "birth_date": "2025-08-20", "sex": "F", "mother_id": mother, "father_id": father,
		"region": "RU-SVE", "time_zone": "Asia/Yekaterinburg", "address": "Екатеринбург, ул. Пушкина, д. 74, кв. 45",
	})
	id := situation.ID("birth-of-child", uuid.NewSHA1(uuid.NameSpaceURL, fmt.Append(nil, i)))
	o := situation.Opened{
		SituationID: id, Kind: "birth-of-child", Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"},
		PersonID: mother, Participants: []string{mother, child, father},
		Trigger: situation.Trigger{EventID: uuid.New(), Type: "birth.registered", Stream: "person-" + child,
			Position: 15803, EventDate: "2025-08-20", Data: trigger},
		CatalogueVersion: "2026.11", CatalogueHash: strings.Repeat("3e", 32), RegisterPosition: 15963,
		Parameters: []catalogue.ParamUse{{Name: "subsistence_minimum", Region: "RU-SVE", Key: "RU-SVE", Value: 17733.0, ValidFrom: "2026-01-01"}},
		Facts:      map[string]catalogue.Person{mother: fact(mother, "1995-12-14"), child: fact(child, "2025-08-20"), father: fact(father, "1991-10-27")},
		OpenedAt:   at,
	}
	var steps []catalogue.StepDecision
	for k := range 5 + i%4 {
		d := catalogue.StepDecision{Key: fmt.Sprintf("service-%d", k), Step: fmt.Sprintf("service-%d", k), Service: fmt.Sprintf("service-%d", k),
			Title:  catalogue.Text{RU: "Единое пособие на ребёнка", EN: "Unified child allowance"},
			Agency: "Социальный фонд России (СФР)", Mode: catalogue.ModeGrant, Outcome: catalogue.OutcomeGranted,
			Applicant: mother, Beneficiary: child, Registry: "social-benefits",
			Prefill: map[string]any{"birth_date": "2025-08-20", "child_family_name": "Борисова", "child_given_name": "Алина",
				"father_id": father, "mother_id": mother, "record_number": "660-2025-00015802", "sex": "F"},
			Curator:    catalogue.Curator{Name: "Волкова Ирина Сергеевна", Agency: "Управление ЗАГС"},
			LegalBasis: "Федеральный закон от 15.11.1997 № 143-ФЗ «Об актах гражданского состояния», ст. 14–23",
			Rules:      []catalogue.RuleCheck{{Rule: "mother.citizenship == 'RU'", Passed: true, LegalBasis: "81-ФЗ ст. 9"}},
			Values:     map[string]any{"per_capita": 15000.0, "threshold": 17733.0},
		}
		if k%2 == 1 {
			d.Mode, d.Outcome, d.Editable, d.Deadline = catalogue.ModeDraft, catalogue.OutcomeDrafted, []string{"bank_account"}, "2026-08-28"
		}
		steps = append(steps, d)
	}
	recs := situation.Open(o, steps, at)
	out := make([]eventstore.RecordedEvent, len(recs))
	for j, r := range recs {
		data, err := r.Payload()
		if err != nil {
			b.Fatal(err)
		}
		out[j] = eventstore.RecordedEvent{Event: eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: at}}, Stream: situation.Stream(id),
			Revision: eventstore.Revision(j), Position: pos + eventstore.Position(j)}
	}
	return out
}
