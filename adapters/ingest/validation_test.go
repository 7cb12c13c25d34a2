package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/domain/lifeevent"
)

// TestValidationRules sends one invalid event per rule and checks the exact
// pointers of the 400 and that nothing was stored.
func TestValidationRules(t *testing.T) {
	f := newFixture(t, nil)
	mother, father, person := uuid.New(), uuid.New(), uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"), personRegistered(father, "1988-01-01"), personRegistered(person, "1970-01-01"))
	stranger := uuid.New()
	newcomer := uuid.New()

	set := func(field string, v any) func(map[string]any) { return func(d map[string]any) { d[field] = v } }
	del := func(field string) func(map[string]any) { return func(d map[string]any) { delete(d, field) } }

	cases := []struct {
		name     string
		event    event.Event
		edit     func(map[string]any)
		pointers []string
	}{
		// Fields present and well-formed.
		{"missing family name", personRegistered(newcomer, "1990-05-01"), del("family_name"), []string{"/data/family_name"}},
		{"empty given name", personRegistered(newcomer, "1990-05-01"), set("given_name", " "), []string{"/data/given_name"}},
		{"missing address", personRegistered(newcomer, "1990-05-01"), set("address", nil), []string{"/data/address"}},
		{"name not a string", personRegistered(newcomer, "1990-05-01"), set("family_name", 7), []string{"/data/family_name"}},
		{"date that does not exist", personRegistered(newcomer, "1990-02-30"), nil, []string{"/data/birth_date"}},
		{"date not YYYY-MM-DD", personRegistered(newcomer, "01.05.1990"), nil, []string{"/data/birth_date"}},
		{"date with time", personRegistered(newcomer, "1990-05-01T00:00:00Z"), nil, []string{"/data/birth_date"}},
		{"sex", personRegistered(newcomer, "1990-05-01"), set("sex", "X"), []string{"/data/sex"}},
		{"citizenship lower case", personRegistered(newcomer, "1990-05-01"), set("citizenship", "ru"), []string{"/data/citizenship"}},
		{"citizenship unassigned", personRegistered(newcomer, "1990-05-01"), set("citizenship", "XX"), []string{"/data/citizenship"}},
		{"citizenship alpha-3", personRegistered(newcomer, "1990-05-01"), set("citizenship", "RUS"), []string{"/data/citizenship"}},
		{"region without subdivision", personRegistered(newcomer, "1990-05-01"), set("region", "RU"), []string{"/data/region"}},
		{"region too long", personRegistered(newcomer, "1990-05-01"), set("region", "RU-MOSCOW"), []string{"/data/region"}},
		{"unknown time zone", personRegistered(newcomer, "1990-05-01"), set("time_zone", "Mars/Olympus_Mons"), []string{"/data/time_zone"}},
		{"Local is no IANA zone", personRegistered(newcomer, "1990-05-01"), set("time_zone", "Local"), []string{"/data/time_zone"}},
		{"malformed person id", personRegistered(newcomer, "1990-05-01"), set("person_id", "42"), []string{"/data/person_id"}},
		{"several errors at once", personRegistered(newcomer, "1990-05-01"), func(d map[string]any) {
			delete(d, "sex")
			d["birth_date"] = "1990-13-01"
			d["region"] = "RU-"
		}, []string{"/data/sex", "/data/birth_date", "/data/region"}},
		{"data not an object", newEvent(lifeevent.SourcePopulation, lifeevent.PersonRegistered, newcomer, nil), nil, []string{"/data"}},

		// The future.
		{"birth date in the future", personRegistered(newcomer, "2026-03-03"), nil, []string{"/data/birth_date"}},
		{"effective date in the future", residenceChanged(person), set("effective_date", "2027-01-01"), []string{"/data/effective_date"}},
		{"marriage date in the future", marriageRegistered(mother, father), set("date", "2026-04-01"), []string{"/data/date"}},
		{"date of death in the future", deathRegistered(person, mother), set("date_of_death", "2026-03-10"), []string{"/data/date_of_death"}},
		{"income year in the future", incomeReported(person, 2027), nil, []string{"/data/year"}},

		// Numbers.
		{"year as a string", incomeReported(person, 2025), set("year", "2025"), []string{"/data/year"}},
		{"year not an integer", incomeReported(person, 2025), set("year", 2025.5), []string{"/data/year"}},
		{"negative income", incomeReported(person, 2025), set("annual_income_rub", -1), []string{"/data/annual_income_rub"}},
		{"income as a string", incomeReported(person, 2025), set("annual_income_rub", "100"), []string{"/data/annual_income_rub"}},
		{"missing income", incomeReported(person, 2025), del("annual_income_rub"), []string{"/data/annual_income_rub"}},

		// Spouses.
		{"one spouse", marriageRegistered(mother, father), set("spouse_ids", []string{mother.String()}), []string{"/data/spouse_ids"}},
		{"three spouses", marriageRegistered(mother, father), set("spouse_ids", []string{mother.String(), father.String(), person.String()}), []string{"/data/spouse_ids"}},
		{"same spouse twice", marriageRegistered(mother, father), set("spouse_ids", []string{mother.String(), mother.String()}), []string{"/data/spouse_ids"}},
		{"malformed spouse", marriageRegistered(mother, father), set("spouse_ids", []string{mother.String(), "bob"}), []string{"/data/spouse_ids/1"}},
		{"new name for a non-spouse", marriageRegistered(mother, father), set("new_family_names", map[string]string{person.String(): "Petrova"}), []string{"/data/new_family_names/" + person.String()}},
		{"empty new name", marriageRegistered(mother, father), set("new_family_names", map[string]string{father.String(): ""}), []string{"/data/new_family_names/" + father.String()}},
		{"new names not an object", marriageRegistered(mother, father), set("new_family_names", []string{"Petrova"}), []string{"/data/new_family_names"}},

		// Children and mothers.
		{"child born before mother", birthRegistered(newcomer, mother, "1989-12-31"), nil, []string{"/data/birth_date"}},
		{"child born the day the mother was", birthRegistered(newcomer, mother, "1990-05-01"), nil, []string{"/data/birth_date"}},
		{"mother is the child", birthRegistered(mother, mother, "2026-02-10"), nil, []string{"/data/mother_id"}},
		{"malformed father", birthRegistered(newcomer, mother, "2026-02-10"), set("father_id", "dad"), []string{"/data/father_id"}},

		// Persons never heard of.
		{"unknown mother", birthRegistered(newcomer, stranger, "2026-02-10"), nil, []string{"/data/mother_id"}},
		{"unknown father", birthRegistered(newcomer, mother, "2026-02-10"), set("father_id", stranger.String()), []string{"/data/father_id"}},
		{"unknown mover", residenceChanged(stranger), nil, []string{"/data/person_id"}},
		{"unknown spouse", marriageRegistered(mother, stranger), nil, []string{"/data/spouse_ids/1"}},
		{"unknown deceased", deathRegistered(stranger, mother), nil, []string{"/data/person_id"}},
		{"unknown informant", deathRegistered(person, stranger), nil, []string{"/data/informant_id"}},
		{"missing informant", deathRegistered(person, mother), del("informant_id"), []string{"/data/informant_id"}},
		{"unknown taxpayer", incomeReported(stranger, 2025), nil, []string{"/data/person_id"}},

		// The subject is the main person.
		{"subject not the registered person", withSubject(personRegistered(newcomer, "1990-05-01"), person), nil, []string{"/subject"}},
		{"subject the father", withSubject(birthRegistered(newcomer, mother, "2026-02-10"), father), func(d map[string]any) { d["father_id"] = father.String() }, []string{"/subject"}},
		{"subject not a spouse", withSubject(marriageRegistered(mother, father), person), nil, []string{"/subject"}},
		{"subject not the deceased", withSubject(deathRegistered(person, mother), mother), nil, []string{"/subject"}},
		{"subject not the taxpayer", withSubject(incomeReported(person, 2025), mother), nil, []string{"/subject"}},
		{"subject not the mover", withSubject(residenceChanged(person), mother), nil, []string{"/subject"}},
		{"subject not a UUID", withRawSubject(personRegistered(newcomer, "1990-05-01"), "anna"), nil, []string{"/subject"}},
		{"subject missing", withRawSubject(personRegistered(newcomer, "1990-05-01"), ""), nil, []string{"/subject"}},

		// The event's time.
		{"time in the future", withTime(personRegistered(newcomer, "1990-05-01"), t0.Add(time.Hour)), nil, []string{"/time"}},
		{"time missing", withTime(personRegistered(newcomer, "1990-05-01"), time.Time{}), nil, []string{"/time"}},

		// Types.
		{"unknown type", newEvent(lifeevent.SourcePopulation, "pet.registered", newcomer, map[string]any{"name": "Rex"}), nil, []string{"/type"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.event
			if tc.edit != nil {
				e = withData(t, e, tc.edit)
			}
			before := f.lastPosition()
			srv := f.server(principalFor(e.Source()))
			if status := sendCE(t, srv, e); status != http.StatusBadRequest {
				t.Fatalf("SDK client: status %d, want 400", status)
			}
			r := postEvent(t, srv, e)
			r.wantProblem(t, http.StatusBadRequest, tc.pointers...)
			if got := f.lastPosition(); got != before {
				t.Fatalf("store moved from %d to %d after a 400", before, got)
			}
		})
	}
	if _, ok := f.index.Person(newcomer); ok {
		t.Fatal("a rejected event made a person known")
	}
}

// TestValidationBoundaries checks the accepted side of the rules' edges.
func TestValidationBoundaries(t *testing.T) {
	f := newFixture(t, nil)
	mother := uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	civil := f.server(civilStatus)

	// The day after the mother's birth, and a registration at 00:30 in
	// Kamchatka on 2 March, when it is still 1 March in UTC.
	postEvent(t, civil, birthRegistered(uuid.New(), mother, "1990-05-02")).wantAccepted(t, 1, 0)
	postEvent(t, civil, birthRegistered(uuid.New(), mother, "2026-03-02")).wantAccepted(t, 1, 0)
	// A registry's clock a little fast.
	postEvent(t, civil, withTime(birthRegistered(uuid.New(), mother, "2026-02-10"), t0.Add(time.Minute))).wantAccepted(t, 1, 0)
	// No father is fine, and so is a null one.
	postEvent(t, civil, withData(t, birthRegistered(uuid.New(), mother, "2026-02-10"), func(d map[string]any) { d["father_id"] = nil })).wantAccepted(t, 1, 0)
	// Extra fields are kept, not refused.
	extra := withData(t, birthRegistered(uuid.New(), mother, "2026-02-10"), func(d map[string]any) { d["weight_g"] = 3400 })
	postEvent(t, civil, extra).wantAccepted(t, 1, 0)
	// A marriage with no change of name.
	other := uuid.New()
	f.seed(personRegistered(other, "1991-01-01"))
	postEvent(t, civil, withData(t, marriageRegistered(other, mother), func(d map[string]any) { delete(d, "new_family_names") })).wantAccepted(t, 1, 0)
	// Income of the current year, and of zero.
	postEvent(t, f.server(tax), withData(t, incomeReported(mother, 2026), func(d map[string]any) { d["annual_income_rub"] = 0 })).wantAccepted(t, 1, 0)
}

// TestEnvelopeRules sends events the SDK would not build, as raw JSON.
func TestEnvelopeRules(t *testing.T) {
	f := newFixture(t, nil)
	srv := f.server(population)
	person := uuid.New()
	data := `{"person_id":"` + person.String() + `","family_name":"Ivanova","given_name":"Anna","birth_date":"1990-05-01","sex":"F","citizenship":"RU","region":"RU-MOW","time_zone":"Europe/Moscow","address":"Moscow"}`
	envelope := func(attrs string) []byte {
		return []byte(`{` + attrs + `"data":` + data + `}`)
	}
	base := `"specversion":"1.0","id":"e-1","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00+03:00",`
	cases := []struct {
		name     string
		body     []byte
		pointers []string
	}{
		{"specversion 0.3", envelope(`"specversion":"0.3","id":"e-1","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00Z",`), []string{"/specversion"}},
		{"no specversion", envelope(`"id":"e-1","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00Z",`), []string{"/specversion"}},
		{"no id", envelope(`"specversion":"1.0","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00Z",`), []string{"/id"}},
		{"time not RFC 3339", envelope(`"specversion":"1.0","id":"e-1","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"yesterday",`), []string{"/time"}},
		{"time without offset", envelope(`"specversion":"1.0","id":"e-1","source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00",`), []string{"/time"}},
		{"id not a string", envelope(`"specversion":"1.0","id":1,"source":"urn:registry:population","type":"person.registered","subject":"` + person.String() + `","time":"2026-03-01T10:00:00Z",`), []string{"/id"}},
		{"datacontenttype xml", envelope(base + `"datacontenttype":"application/xml",`), []string{"/datacontenttype"}},
		{"data in base64", []byte(`{` + base + `"data_base64":"e30="}`), []string{"/data_base64"}},
		{"no data", []byte(`{` + base[:len(base)-1] + `}`), []string{"/data"}},
		{"not JSON", []byte(`{"specversion":`), []string{""}},
		{"not an object", []byte(`["specversion"]`), []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			post(t, srv, event.ApplicationCloudEventsJSON, tc.body).wantProblem(t, http.StatusBadRequest, tc.pointers...)
			if got := f.lastPosition(); got != 0 {
				t.Fatalf("store at %d after a 400", got)
			}
		})
	}
	// The same envelope, well formed, is accepted with its offset kept as
	// the business time.
	post(t, srv, event.ApplicationCloudEventsJSON, envelope(base)).wantAccepted(t, 1, 0)
	stored := f.stream(person)
	if want := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC); len(stored) != 1 || !stored[0].Metadata.OccurredAt.Equal(want) {
		t.Fatalf("stored %+v, want one event that occurred at %s", stored, want)
	}
	// And within a batch, pointers carry the index.
	post(t, srv, event.ApplicationCloudEventsBatchJSON, []byte(`[`+string(envelope(base))+`,{"specversion":"1.0"}]`)).
		wantProblem(t, http.StatusBadRequest, "/1/id", "/1/source", "/1/type")
	post(t, srv, event.ApplicationCloudEventsBatchJSON, []byte(`{"not":"an array"}`)).wantProblem(t, http.StatusBadRequest, "")
}

func principalFor(source string) auth.Principal {
	return auth.Principal{Role: auth.RoleRegistry, Subject: source}
}

func withSubject(e event.Event, subject uuid.UUID) event.Event {
	return withRawSubject(e, subject.String())
}

func withRawSubject(e event.Event, subject string) event.Event {
	c := e.Clone()
	c.SetSubject(subject)
	return c
}

func withTime(e event.Event, t time.Time) event.Event {
	c := e.Clone()
	c.SetTime(t)
	return c
}

// TestRepeatedFieldIsRefused sends payloads that name a field twice: a
// repeated personal field would be sealed once and kept in clear beside
// its twin. Each gets a 400 pointing at the repeat, and nothing is stored.
func TestRepeatedFieldIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	mother := uuid.New()
	f.seed(personRegistered(mother, "1990-05-01"))
	cases := []struct {
		name    string
		event   event.Event
		from    string
		to      string
		pointer string
	}{
		{"a name twice", personRegistered(uuid.New(), "1990-05-01"),
			`"family_name":"Ivanova"`, `"family_name":"Ivanova","family_name":"Petrova"`, "/data/family_name"},
		{"a key twice inside a nested object", withData(t, marriageRegistered(mother, uuid.New()), func(d map[string]any) {
			d["new_family_names"] = map[string]string{mother.String(): "Petrova"}
		}),
			`"new_family_names":{`, `"new_family_names":{"x":"A","x":"B",`, "/data/new_family_names/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(body, []byte(tc.from)) {
				t.Fatalf("%s not in %s", tc.from, body)
			}
			body = bytes.Replace(body, []byte(tc.from), []byte(tc.to), 1)
			before := f.lastPosition()
			r := post(t, f.server(principalFor(tc.event.Source())), "application/cloudevents+json", body)
			r.wantProblem(t, http.StatusBadRequest, tc.pointer)
			if got := f.lastPosition(); got != before {
				t.Fatalf("store moved from %d to %d after a 400", before, got)
			}
		})
	}
}
