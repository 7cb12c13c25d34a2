package register_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
)

func TestMarriageKeepsThePreviousFamilyName(t *testing.T) {
	f := newFixture(t)
	anna, boris := uuid.New(), uuid.New()
	f.register(anna, "Smirnova", "Anna", "1996-02-02", "F", "RU")
	f.register(boris, "Kotov", "Boris", "1994-05-05", "M", "RU")
	f.append("person-"+anna.String(), "marriage.registered", map[string]any{
		"record_number": "m-1", "spouse_ids": []uuid.UUID{anna, boris}, "date": "2026-02-26",
		"new_family_names": map[string]string{anna.String(): "Kotova"},
	})
	if a := f.person(anna); a.FamilyName != "Kotova" || a.PreviousFamilyName != "Smirnova" {
		t.Errorf("Anna: %q, before %q", a.FamilyName, a.PreviousFamilyName)
	}
	if b := f.person(boris); b.FamilyName != "Kotov" || b.PreviousFamilyName != "" {
		t.Errorf("Boris: %q, before %q", b.FamilyName, b.PreviousFamilyName)
	}
}

// decider records step decisions of one situation, as the saga would.
type decider struct {
	f   *fixture
	sit uuid.UUID
}

func (d decider) decide(key, service, applicant, beneficiary string, outcome catalogue.Outcome, optOut bool) uuid.UUID {
	step := situation.StepID(d.sit, key)
	e := situation.StepDecided{SituationID: d.sit, StepID: step, DecidedAt: start,
		Decision: catalogue.StepDecision{Key: key, Service: service, Outcome: outcome, OptOut: optOut,
			Applicant: applicant, Beneficiary: beneficiary}}
	if outcome == catalogue.OutcomeGranted {
		e.GrantID = situation.GrantID(step)
	}
	d.f.append(situation.Stream(d.sit), situation.TypeStepDecided, e)
	return step
}

func (d decider) then(eventType string, data any) {
	d.f.append(situation.Stream(d.sit), eventType, data)
}

func TestDraftsOfListsTheDraftsStillWaiting(t *testing.T) {
	f := newFixture(t)
	mother, child := uuid.New(), uuid.New()
	f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	f.birth(child, mother, nil, "2026-02-20")
	m, c := mother.String(), child.String()

	birth := decider{f, uuid.New()}
	open := birth.decide("a", "child-allowance", m, c, catalogue.OutcomeDrafted, false)
	submitted := birth.decide("b", "child-health-insurance", m, c, catalogue.OutcomeDrafted, false)
	decided := birth.decide("c", "residence-registration", m, c, catalogue.OutcomeDrafted, false)
	declined := birth.decide("d", "x", m, c, catalogue.OutcomeDrafted, false)
	birth.decide("e", "child-snils", m, c, catalogue.OutcomeGranted, false)
	other := decider{f, uuid.New()}
	elsewhere := other.decide("a", "clinic-attachment", m, m, catalogue.OutcomeDrafted, false)
	other.decide("b", "school-transfer", "someone-else", c, catalogue.OutcomeDrafted, false)

	birth.then(situation.TypeDraftConfirmed, situation.DraftConfirmed{SituationID: birth.sit, DraftID: submitted, At: start})
	birth.then(situation.TypeDraftConfirmed, situation.DraftConfirmed{SituationID: birth.sit, DraftID: decided, At: start})
	birth.then(situation.TypeApplicationDecided, situation.ApplicationDecided{SituationID: birth.sit, DraftID: decided,
		Outcome: catalogue.OutcomeGranted, At: start})
	birth.then(situation.TypeDraftDeclined, situation.DraftDeclined{SituationID: birth.sit, DraftID: declined, At: start})

	want := []situation.DraftRef{{Situation: birth.sit, Draft: open}, {Situation: birth.sit, Draft: submitted},
		{Situation: other.sit, Draft: elsewhere}}
	if got := f.reg.DraftsOf(m); !sameRefs(got, want) {
		t.Errorf("drafts of the mother:\n got  %v\n want %v", got, want)
	}
	birth.then(situation.TypeDraftWithdrawn, situation.DraftWithdrawn{SituationID: birth.sit, DraftID: open, At: start})
	birth.then(situation.TypeDraftWithdrawn, situation.DraftWithdrawn{SituationID: birth.sit, DraftID: submitted, At: start})
	if got := f.reg.DraftsOf(m); !sameRefs(got, want[2:]) {
		t.Errorf("after the withdrawals: %v", got)
	}
	if got := f.reg.DraftsOf(c); len(got) != 0 {
		t.Errorf("a beneficiary is no applicant: %v", got)
	}
	// The drafts' entries sit beside the mother's row: the register still
	// lists persons, not entries.
	if got := f.reg.Persons(10); len(got) != 2 || !slices.ContainsFunc(got, func(p catalogue.Person) bool { return p.ID == m }) {
		t.Errorf("persons beside the drafts' entries: %+v", got)
	}
	f.sameInMemory(m, c)
}

func sameRefs(got, want []situation.DraftRef) bool {
	key := func(r situation.DraftRef) string { return r.Situation.String() + r.Draft.String() }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i, r := range got {
		g[i] = key(r)
	}
	for i, r := range want {
		w[i] = key(r)
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func TestStandingGrantsUntilWithdrawn(t *testing.T) {
	f := newFixture(t)
	mother, child := uuid.New(), uuid.New()
	f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
	f.birth(child, mother, nil, "2026-02-20")
	m, c := mother.String(), child.String()

	birth, move := decider{f, uuid.New()}, decider{f, uuid.New()}
	first := situation.GrantID(birth.decide("kindergarten-queue", "kindergarten-queue", m, c, catalogue.OutcomeGranted, true))
	birth.decide("child-snils", "child-snils", m, c, catalogue.OutcomeGranted, false)
	if got := f.reg.StandingGrants(c, "kindergarten-queue"); len(got) != 1 || got[0] != (situation.GrantRef{Situation: birth.sit, Grant: first}) {
		t.Fatalf("the child's place: %v", got)
	}
	if got := f.reg.StandingGrants(c, "child-snils"); len(got) != 0 {
		t.Errorf("a grant without opt-out is no standing grant: %v", got)
	}
	// The move grants a place in the new region, then the old one is
	// withdrawn: both still count the service as granted.
	second := situation.GrantID(move.decide("kindergarten-queue[c]", "kindergarten-queue", m, c, catalogue.OutcomeGranted, true))
	birth.then(situation.TypeGrantWithdrawn, situation.GrantWithdrawn{SituationID: birth.sit, GrantID: first,
		Reason: situation.ReasonSuperseded, At: start})
	if got := f.reg.StandingGrants(m, "kindergarten-queue"); len(got) != 1 || got[0].Grant != second {
		t.Errorf("the mother's places after the move: %v", got)
	}
	if !slices.Contains(f.person(child).Granted, "kindergarten-queue") || !slices.Contains(f.person(mother).Granted, "kindergarten-queue") {
		t.Errorf("a replaced place is still a place: %v %v", f.person(child).Granted, f.person(mother).Granted)
	}
	// Opting out of the last one: no place any more.
	move.then(situation.TypeGrantWithdrawn, situation.GrantWithdrawn{SituationID: move.sit, GrantID: second,
		Reason: situation.ReasonOptOut, At: start})
	if got := f.reg.StandingGrants(c, "kindergarten-queue"); len(got) != 0 {
		t.Errorf("after the opt-out: %v", got)
	}
	if g := f.person(child).Granted; slices.Contains(g, "kindergarten-queue") || !slices.Contains(g, "child-snils") {
		t.Errorf("the child's grants after the opt-out: %v", g)
	}
	if g := f.person(mother).Granted; slices.Contains(g, "kindergarten-queue") {
		t.Errorf("the mother's grants after the opt-out: %v", g)
	}
	f.sameInMemory(m, c)
}

// sameInMemory folds the whole log into a register in memory and wants
// the families of ids as the file register gives them, at every position.
func (f *fixture) sameInMemory(ids ...string) {
	f.t.Helper()
	events, err := f.store.ReadAll(context.Background(), 0, eventstore.Filter{}, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := register.OpenScratch(filepath.Join(f.t.TempDir(), "ref.db"))
	if err != nil {
		f.t.Fatal(err)
	}
	defer func() { _ = ref.Close() }()
	mem := register.NewMemory()
	for i := range events {
		if err := ref.Apply(events[i : i+1]); err != nil {
			f.t.Fatal(err)
		}
		if err := mem.Apply(events[i : i+1]); err != nil {
			f.t.Fatal(err)
		}
		for _, id := range ids {
			if got, want := mem.Family(id), ref.Family(id); !reflect.DeepEqual(got, want) {
				f.t.Errorf("after position %d, family of %s in memory:\n got %+v\nwant %+v", events[i].Position, id, got, want)
			}
		}
	}
	if len(events) == 0 || mem.Position() != events[len(events)-1].Position {
		f.t.Errorf("in memory at %d after %d events", mem.Position(), len(events))
	}
}

func TestAFileOfAnOlderLayoutIsFoldedAgain(t *testing.T) {
	olderLayouts := map[string]func(tx *bolt.Tx, person string) error{
		// Written before the layout had a version.
		"no version": func(tx *bolt.Tx, _ string) error { return tx.Bucket([]byte("meta")).Delete([]byte("schema")) },
		// Version 2, whose rows were JSON.
		"version 2": func(tx *bolt.Tx, person string) error {
			row, err := json.Marshal(map[string]any{"id": person, "family_name": "Ivanova"})
			if err != nil {
				return err
			}
			if err := tx.Bucket([]byte("persons")).Put([]byte(person), row); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2"))
		},
		// Version 3, whose drafts and standing grants had buckets of their
		// own.
		"version 3": func(tx *bolt.Tx, person string) error {
			for _, name := range []string{"drafts", "held"} {
				b, err := tx.CreateBucketIfNotExists([]byte(name))
				if err != nil {
					return err
				}
				if err := b.Put(append([]byte(person), 0, 1), []byte{1}); err != nil {
					return err
				}
			}
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("3"))
		},
	}
	for name, rewrite := range olderLayouts {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			mother := uuid.New()
			f.register(mother, "Ivanova", "Maria", "1994-03-01", "F", "RU")
			pos := f.reg.Position()
			f.stop()

			path := filepath.Join(f.dir, "register.db")
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { return rewrite(tx, mother.String()) }); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			reg, err := register.OpenProjection(path)
			if err != nil {
				t.Fatal(err)
			}
			if reg.Position() != 0 {
				t.Errorf("an old file keeps its checkpoint %d", reg.Position())
			}
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = bolt.Open(path, 0o600, nil); err != nil {
				t.Fatal(err)
			}
			var buckets []string
			_ = db.View(func(tx *bolt.Tx) error {
				return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
					buckets = append(buckets, string(name))
					return nil
				})
			})
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if want := []string{"birthdays", "meta", "persons", "standing", "steps"}; !slices.Equal(buckets, want) {
				t.Errorf("buckets after the upgrade: %v, want %v", buckets, want)
			}
			f.open(f.store)
			if err := f.reg.WaitFor(context.Background(), pos); err != nil {
				t.Fatal(err)
			}
			if p := f.person(mother); p.FamilyName != "Ivanova" || p.GivenName != "Maria" {
				t.Errorf("folded again: %+v", p)
			}
		})
	}
}
