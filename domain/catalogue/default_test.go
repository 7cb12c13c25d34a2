package catalogue

import (
	"errors"
	"reflect"
	"testing"
)

// The rows of CONTRACT.md section 2: situation, trigger, service, mode.
var contractRows = []struct {
	situation, trigger, service string
	mode                        Mode
}{
	{"birth-of-child", "birth.registered", "birth-certificate", ModeGrant},
	{"birth-of-child", "birth.registered", "child-snils", ModeGrant},
	{"birth-of-child", "birth.registered", "maternity-capital", ModeGrant},
	{"birth-of-child", "birth.registered", "child-allowance", ModeDraft},
	{"birth-of-child", "birth.registered", "child-health-insurance", ModeDraft},
	{"birth-of-child", "birth.registered", "residence-registration", ModeDraft},
	{"birth-of-child", "birth.registered", "kindergarten-queue", ModeGrantOptOut},
	{"age-milestone", "age.reached", "passport-issue", ModeDraft},
	{"age-milestone", "age.reached", "passport-replacement", ModeDraft},
	{"move", "residence.changed", "clinic-attachment", ModeDraft},
	{"move", "residence.changed", "health-insurance-update", ModeDraft},
	{"move", "residence.changed", "tax-office-transfer", ModeGrant},
	{"move", "residence.changed", "voter-registration-update", ModeGrant},
	{"move", "residence.changed", "school-transfer", ModeDraft},
	{"marriage", "marriage.registered", "passport-replacement", ModeDraft},
	{"marriage", "marriage.registered", "driving-licence-replacement", ModeDraft},
	{"marriage", "marriage.registered", "foreign-passport-replacement", ModeDraft},
	{"marriage", "marriage.registered", "snils-update", ModeGrant},
	{"marriage", "marriage.registered", "tax-record-update", ModeGrant},
	{"bereavement", "death.registered", "death-certificate", ModeGrant},
	{"bereavement", "death.registered", "funeral-benefit", ModeDraft},
	{"bereavement", "death.registered", "pension-stop", ModeGrant},
	{"bereavement", "death.registered", "passport-cancellation", ModeGrant},
	{"bereavement", "death.registered", "survivor-pension", ModeDraft},
}

func TestDefaultCatalogueHasEveryRowOfTheContract(t *testing.T) {
	cat := defaultCatalogue(t)
	if cat.Version() == "" || len(cat.Hash()) != 64 {
		t.Fatalf("version %q hash %q", cat.Version(), cat.Hash())
	}
	for _, row := range contractRows {
		sits := cat.Situations(row.trigger)
		if len(sits) != 1 || sits[0].ID != row.situation {
			t.Fatalf("%s opens %v, want %s", row.trigger, sits, row.situation)
		}
		if !usesService(sits[0].Steps, row.service) {
			t.Errorf("situation %s has no step %s", row.situation, row.service)
		}
		svc, ok := cat.Service(row.service)
		if !ok {
			t.Fatalf("no service %s", row.service)
		}
		if svc.Mode != row.mode {
			t.Errorf("%s: mode %s, want %s", row.service, svc.Mode, row.mode)
		}
		if svc.Curator.Name == "" || svc.Curator.Agency == "" || svc.LegalBasis == "" || svc.Title.RU == "" || svc.Title.EN == "" {
			t.Errorf("%s: curator %+v legal basis %q title %+v", row.service, svc.Curator, svc.LegalBasis, svc.Title)
		}
		if svc.Mode.Grants() && svc.Registry == "" {
			t.Errorf("%s grants without a registry", row.service)
		}
	}
	for id, days := range map[string]int{"birth-of-child": 180, "age-milestone": 90} {
		if s, _ := cat.Situation(id); s.WindowDays != days {
			t.Errorf("%s window %d, want %d", id, s.WindowDays, days)
		}
	}
}

func usesService(steps []*Step, code string) bool {
	for _, st := range steps {
		if st.Service.ID == code || usesService(st.FollowUps, code) {
			return true
		}
	}
	return false
}

func TestDecideIsDeterministic(t *testing.T) {
	in := marriageInput(t, map[string]any{"boris": "Смирнов", "anna": "Котова"})
	first := decide(t, "marriage", in)
	for i := 0; i < 20; i++ {
		if again := decide(t, "marriage", in); !reflect.DeepEqual(first, again) {
			t.Fatalf("decision changed between runs:\n%+v\n%+v", first, again)
		}
	}
	m := russianMother()
	m.Incomes = map[string]float64{"2021": 1, "2022": 2, "2023": 3, "2024": 4, "2025": 5}
	birth := birthInput(t, "2026-10-01", "RU-MOW", m, &Person{Incomes: map[string]float64{"2019": 1, "2020": 2}})
	a := decide(t, "birth-of-child", birth)
	for i := 0; i < 20; i++ {
		if b := decide(t, "birth-of-child", birth); !reflect.DeepEqual(a, b) {
			t.Fatalf("birth decision changed between runs")
		}
	}
}

func TestDecideConcurrently(t *testing.T) {
	in := birthInput(t, "2026-10-01", "RU-SPE", russianMother(), nil)
	want := decide(t, "birth-of-child", in)
	sit := situation(t, "birth-of-child")
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			d, err := Decide(sit, in)
			if err == nil && !reflect.DeepEqual(d, want) {
				err = errDiffers
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

var errDiffers = errors.New("a concurrent decision differs")
