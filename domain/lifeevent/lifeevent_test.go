package lifeevent_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/lifeevent"
)

func TestEventIDIsDeterministicAndUnambiguous(t *testing.T) {
	a := lifeevent.EventID("urn:registry:tax", "42")
	if a != lifeevent.EventID("urn:registry:tax", "42") {
		t.Fatal("same key, different ids")
	}
	if a.Version() != 5 {
		t.Fatalf("version %d, want 5", a.Version())
	}
	for _, other := range [][2]string{{"urn:registry:tax4", "2"}, {"urn:registry:tax", "43"}, {"urn:registry:population", "42"}} {
		if lifeevent.EventID(other[0], other[1]) == a {
			t.Fatalf("%q collides with (urn:registry:tax, 42)", other)
		}
	}
	// Pinned: changing the namespace or the separator would make every
	// resend look new.
	if want := uuid.NewSHA1(uuid.MustParse("bfffab90-fd0c-41d9-98f9-5ee0ba20d140"), []byte("urn:registry:tax\n42")); a != want {
		t.Fatalf("id %s, want %s", a, want)
	}
}

func TestTodayIsTheLatestDateOnEarth(t *testing.T) {
	for _, c := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 3, 1, 9, 59, 0, 0, time.UTC), "2026-03-01"},
		{time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), "2026-03-02"},
		{time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("MSK", 3*3600)), "2026-03-02"},
	} {
		if got := lifeevent.Today(c.now).String(); got != c.want {
			t.Errorf("Today(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var d lifeevent.Date
	if err := json.Unmarshal([]byte(`"2024-02-29"`), &d); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(d); string(b) != `"2024-02-29"` {
		t.Fatalf("round trip: %s", b)
	}
	for _, bad := range []string{`"2023-02-29"`, `"2024-2-29"`, `"29.02.2024"`, `"2024-02-29T00:00:00Z"`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestRegionCodes(t *testing.T) {
	for _, ok := range []string{"RU-MOW", "RU-66", "US-CA", "FR-75C", "GB-ENG"} {
		if !lifeevent.ValidRegion(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"RU", "ru-mow", "RU-", "RU-MOSC", "XX-MOW", "RU_MOW", "RU-MO W"} {
		if lifeevent.ValidRegion(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
}

type persons map[uuid.UUID]lifeevent.Known

func (p persons) Person(id uuid.UUID) (lifeevent.Known, bool) { k, ok := p[id]; return k, ok }

func TestBirthWithMotherAsSubjectConcernsTheFamily(t *testing.T) {
	mother, father, child := uuid.New(), uuid.New(), uuid.New()
	known := persons{
		mother: {BirthDate: lifeevent.Date{Year: 1990, Month: 5, Day: 1}},
		father: {BirthDate: lifeevent.Date{Year: 1988, Month: 1, Day: 1}},
	}
	data, _ := json.Marshal(map[string]any{
		"record_number": "1", "child_id": child, "child_family_name": "Ivanov", "child_given_name": "Ivan",
		"birth_date": "2026-02-10", "sex": "M", "mother_id": mother, "father_id": father,
		"region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow",
	})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in := lifeevent.Input{Type: string(lifeevent.BirthRegistered), Subject: mother.String(), Time: now, Data: data}
	e, errs := lifeevent.Validator{TimeZoneValid: func(string) bool { return true }}.Validate(in, known, now)
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	if e.Stream() != "person-"+mother.String() {
		t.Errorf("stream %s", e.Stream())
	}
	got := e.Concerns()
	if len(got) != 3 || got[0] != mother || got[1] != child || got[2] != father {
		t.Errorf("concerns %v, want mother, child, father", got)
	}

	// The injected zone check is what decides whether a zone exists.
	in.Data = data
	_, errs = lifeevent.Validator{TimeZoneValid: func(string) bool { return false }}.Validate(in, known, now)
	if len(errs) != 1 || errs[0].Pointer != "/data/time_zone" || errs[0].Reason != lifeevent.ReasonMalformedField {
		t.Errorf("errors %v, want one at /data/time_zone", errs)
	}
}

func TestReasonsClassifyErrors(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stranger := uuid.New()
	data, _ := json.Marshal(map[string]any{"person_id": stranger, "year": 2030})
	in := lifeevent.Input{Type: string(lifeevent.IncomeReported), Subject: stranger.String(), Time: now.Add(time.Hour), Data: data}
	_, errs := lifeevent.Validator{}.Validate(in, persons{}, now)
	want := map[string]lifeevent.Reason{
		"/time":                   lifeevent.ReasonFutureDate,
		"/data/year":              lifeevent.ReasonFutureDate,
		"/data/annual_income_rub": lifeevent.ReasonMissingField,
		"/data/person_id":         lifeevent.ReasonUnknownPerson,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	for _, e := range errs {
		if want[e.Pointer] != e.Reason {
			t.Errorf("%s: reason %s, want %s", e.Pointer, e.Reason, want[e.Pointer])
		}
	}
	in.Type = "pet.registered"
	if _, errs := (lifeevent.Validator{}).Validate(in, persons{}, now); len(errs) != 1 || errs[0].Reason != lifeevent.ReasonUnknownType {
		t.Errorf("unknown type: %v", errs)
	}
}
