package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/personaldata"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
	"lifesituations/sagas/audit"
	"lifesituations/sagas/situations"
)

// birthLog builds a log in which the real saga decided a birth: the
// registry events, then the situation's opening batch. It returns the
// store and the events of the opening batch.
func birthLog(t *testing.T) (*embedded.Store, []eventstore.RecordedEvent) {
	t.Helper()
	store, batch := birthLogIn(t, false)
	return store.(*embedded.Store), batch
}

// birthLogIn is birthLog, through the decorator that seals the personal
// fields (with a key store of its own) when sealed.
func birthLogIn(t *testing.T, sealedFields bool) (eventstore.Store, []eventstore.RecordedEvent) {
	t.Helper()
	return birthLogWith(t, sealedFields, nil)
}

// appendFact appends a registry fact to the person's stream.
type appendFact func(person uuid.UUID, typ lifeevent.Type, data map[string]any)

// birthLogWith is birthLogIn with facts appended before the mother's
// registration by before (if not nil), which returns the father to name
// in the birth record (or uuid.Nil).
func birthLogWith(t *testing.T, sealedFields bool, before func(mother uuid.UUID, appendLife appendFact) uuid.UUID) (eventstore.Store, []eventstore.RecordedEvent) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	es, err := embedded.Open(dir, embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = es.Close() })
	var store eventstore.Store = es
	if sealedFields {
		keys, err := keystore.OpenIn(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = keys.Close() })
		store = sealed.New(es, keys)
	}
	mother, child := uuid.New(), uuid.New()
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	appendLife := func(stream uuid.UUID, typ lifeevent.Type, data map[string]any) {
		_, err := store.Append(ctx, lifeevent.PersonStream(stream), eventstore.Any, eventstore.Event{
			ID: uuid.New(), Type: string(typ), SchemaVersion: 1, Data: raw(data),
			Metadata: eventstore.Metadata{OccurredAt: clk.Now(), Source: typ.Owner()},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var father uuid.UUID
	if before != nil {
		father = before(mother, appendLife)
	}
	appendLife(mother, lifeevent.PersonRegistered, map[string]any{"person_id": mother, "family_name": "Иванова", "given_name": "Мария",
		"birth_date": "1994-03-01", "sex": "F", "citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Москва"})
	birth := map[string]any{"record_number": "1", "child_id": child, "child_family_name": "Иванов",
		"child_given_name": "Пётр", "birth_date": "2026-03-05", "sex": "M", "mother_id": mother, "region": "RU-MOW",
		"time_zone": "Europe/Moscow", "address": "Москва"}
	if father != uuid.Nil {
		birth["father_id"] = father
	}
	appendLife(child, lifeevent.BirthRegistered, birth)

	reg, err := register.OpenProjection(filepath.Join(t.TempDir(), "register.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := situations.NewService(situations.Config{Store: store, Catalogue: cat, Register: reg, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, 0, eventstore.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Apply(evs); err != nil {
		t.Fatal(err)
	}
	trigger := evs[len(evs)-1]
	if _, err := svc.HandleTrigger(ctx, trigger); err != nil {
		t.Fatal(err)
	}
	batch, err := store.ReadAll(ctx, trigger.Position, eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}}, 100)
	if err != nil || len(batch) < 2 || batch[0].Type != situation.TypeOpened {
		t.Fatalf("the birth opened nothing: %v %v", err, batch)
	}
	return store, batch
}

// verifyStore verifies with the fresh register in memory, and wants the
// same report with it in a scratch file.
func verifyStore(t *testing.T, store eventstore.Store) *audit.Report {
	t.Helper()
	cat, _ := catalogue.Default()
	rep, err := audit.Verify(context.Background(), audit.Config{Store: store, Catalogues: []*catalogue.Catalogue{cat}})
	if err != nil {
		t.Fatal(err)
	}
	inFile, err := audit.Verify(context.Background(), audit.Config{Store: store, Catalogues: []*catalogue.Catalogue{cat}, Scratch: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Divergences, inFile.Divergences) || !reflect.DeepEqual(rep.Integrity, inFile.Integrity) ||
		rep.Verified != inFile.Verified || rep.Decisions != inFile.Decisions || rep.Events != inFile.Events {
		t.Fatalf("in memory and in a file, the verifications differ:\n%+v\n%+v", rep, inFile)
	}
	// Read in pages of two positions, by as many readers as cores.
	paged, err := audit.Verify(context.Background(), audit.Config{Store: store, Catalogues: []*catalogue.Catalogue{cat}, Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Divergences, paged.Divergences) || !reflect.DeepEqual(rep.Integrity, paged.Integrity) ||
		rep.Verified != paged.Verified || rep.Decisions != paged.Decisions || rep.Events != paged.Events {
		t.Fatalf("in pages of 8192 and of 2 events, the verifications differ:\n%+v\n%+v", rep, paged)
	}
	// Folding every fact, also those of persons no decision reads.
	every, err := audit.Verify(context.Background(), audit.Config{Store: store, Catalogues: []*catalogue.Catalogue{cat}, EveryFact: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Divergences, every.Divergences) || !reflect.DeepEqual(rep.Integrity, every.Integrity) ||
		rep.Verified != every.Verified || rep.Decisions != every.Decisions || rep.Events != every.Events {
		t.Fatalf("folding the kin's facts and every fact, the verifications differ:\n%+v\n%+v", rep, every)
	}
	if every.RegisterPersons != 0 || every.FactsLeft != 0 {
		t.Fatalf("folding every fact, the report says %d persons folded and %d facts left", every.RegisterPersons, every.FactsLeft)
	}
	// The plan reading the log within the hash chain's check.
	if es, ok := store.(*embedded.Store); ok {
		checked, err := audit.Verify(context.Background(), audit.Config{Store: store, Catalogues: []*catalogue.Catalogue{cat}, Integrity: chainScan(es)})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep.Divergences, checked.Divergences) || len(checked.Integrity) != 0 || !checked.ChainChecked ||
			rep.Verified != checked.Verified || rep.Decisions != checked.Decisions || rep.Events != checked.Events {
			t.Fatalf("with the plan read by the hash chain's check, the verifications differ:\n%+v\n%+v", rep, checked)
		}
	}
	return rep
}

// chainScan is the hash chain's check reading the log for the plan too;
// the logs here are untouched, so a break is an error.
func chainScan(s *embedded.Store) func(context.Context, eventstore.Position, eventstore.Filter,
	func(*eventstore.RecordedEvent) error, func(done, total uint64)) (func() ([]audit.IntegrityBreak, error), error) {
	return func(ctx context.Context, upTo eventstore.Position, filter eventstore.Filter,
		fn func(*eventstore.RecordedEvent) error, progress func(done, total uint64)) (func() ([]audit.IntegrityBreak, error), error) {
		wait, err := s.ScanVerifying(ctx, upTo, filter, fn, progress)
		return func() ([]audit.IntegrityBreak, error) {
			if breaks, err := wait(); err != nil || len(breaks) > 0 {
				return nil, fmt.Errorf("hash chain: %v %v", breaks, err)
			}
			return nil, nil
		}, err
	}
}

// withoutPosition is a store whose log lacks the record at one position.
type withoutPosition struct {
	eventstore.Store
	missing eventstore.Position
}

func (s withoutPosition) ReadAll(ctx context.Context, after eventstore.Position, f eventstore.Filter, max int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.Store.ReadAll(ctx, after, f, max)
	kept := evs[:0]
	for _, e := range evs {
		if e.Position != s.missing {
			kept = append(kept, e)
		}
	}
	return kept, err
}

// A record missing from the log is a break in its integrity, whatever the
// pages it is read in.
func TestVerifyReportsARecordMissingFromTheLog(t *testing.T) {
	store, _ := birthLog(t)
	rep := verifyStore(t, withoutPosition{Store: store, missing: 2})
	if len(rep.Integrity) != 1 || rep.Integrity[0].Position != 3 || rep.Events == 0 {
		t.Fatalf("integrity: %+v (%d events)", rep.Integrity, rep.Events)
	}
}

func TestVerifyReproducesTheSagasDecisions(t *testing.T) {
	store, batch := birthLog(t)
	rep := verifyStore(t, store)
	if !rep.OK() || rep.Verified != len(batch)-1 || rep.Situations != 1 {
		t.Fatalf("verified %d of %d decisions: %+v", rep.Verified, len(batch)-1, rep.Divergences)
	}
}

// The same log, but a decision of the opening batch recorded with another
// amount than the catalogue gives: a divergence naming the field, with
// what was recorded and what the replay gives.
func TestVerifyReportsADecisionThatDiffersFromTheReplay(t *testing.T) {
	store, batch := birthLog(t)
	forged, edited := forge(t, store, batch, func(e *eventstore.RecordedEvent) bool {
		if e.Type != situation.TypeStepDecided {
			return false
		}
		var d situation.StepDecided
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Decision.Service != "maternity-capital" {
			return false
		}
		d.Decision.Prefill["amount"] = 1_000_000.0
		e.Data, _ = json.Marshal(d)
		return true
	})
	if len(edited) != 1 {
		t.Fatalf("want one maternity capital decided, edited %v", edited)
	}
	altered := edited[0]
	rep := verifyStore(t, forged)
	if len(rep.Divergences) != 1 {
		t.Fatalf("want one divergence, got %+v", rep.Divergences)
	}
	d := rep.Divergences[0]
	if d.Kind != audit.KindDecision || d.EventID != altered || d.Step != "maternity-capital" || len(d.Differences) != 1 ||
		d.Differences[0].Path != "/prefill/amount" || d.Differences[0].Recorded != 1_000_000.0 || d.Differences[0].Replayed != 728921.9 {
		t.Fatalf("divergence: %+v", d)
	}
}

// forge copies the log up to the end of batch into a new store, with the
// events edit changes (it reports whether it changed one).
func forge(t *testing.T, store eventstore.Store, batch []eventstore.RecordedEvent, edit func(e *eventstore.RecordedEvent) bool) (*embedded.Store, []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	all, err := store.ReadAll(ctx, 0, eventstore.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	forged, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = forged.Close() })
	var edited []uuid.UUID
	for _, e := range all {
		if e.Position > batch[len(batch)-1].Position {
			break
		}
		if edit(&e) {
			edited = append(edited, e.ID)
		}
		e.Metadata.RecordedAt = time.Time{}
		if _, err := forged.Append(ctx, e.Stream, eventstore.Any, e.Event); err != nil {
			t.Fatal(err)
		}
	}
	return forged, edited
}

// forgeOpening is forge with the batch's opening changed by edit; it
// returns the forged store and the opening's id.
func forgeOpening(t *testing.T, store eventstore.Store, batch []eventstore.RecordedEvent, edit func(o *situation.Opened)) (*embedded.Store, uuid.UUID) {
	t.Helper()
	forged, edited := forge(t, store, batch, func(e *eventstore.RecordedEvent) bool {
		if e.Type != situation.TypeOpened {
			return false
		}
		var o situation.Opened
		if err := json.Unmarshal(e.Data, &o); err != nil {
			t.Fatal(err)
		}
		edit(&o)
		e.Data, _ = json.Marshal(o)
		return true
	})
	if len(edited) != 1 {
		t.Fatalf("edited %d openings", len(edited))
	}
	return forged, edited[0]
}

// An opening recorded with other facts and another applicant than the
// register and the catalogue give: the openings are recomputed ahead of
// the verification, in parallel, and both divergences are still reported.
func TestVerifyReportsAnOpeningThatDiffersFromTheReplay(t *testing.T) {
	store, batch := birthLog(t)
	forged, edited := forgeOpening(t, store, batch, func(o *situation.Opened) {
		for id, p := range o.Facts {
			p.Region = "RU-SPE"
			o.Facts[id] = p
			break
		}
		o.PersonID = uuid.NewString()
	})
	rep := verifyStore(t, forged)
	kinds := map[string]bool{}
	for _, d := range rep.Divergences {
		if d.EventID == edited {
			kinds[d.Kind] = true
		}
	}
	if !kinds[audit.KindFacts] || !kinds[audit.KindOpening] {
		t.Fatalf("want the facts and the opening reported, got %+v", rep.Divergences)
	}
}

// Through the decorator that opens the personal fields, the plan reads the
// sealed bytes and opens only the triggers: every decision verifies.
func TestVerifyThroughTheSealedStore(t *testing.T) {
	store, batch := birthLogIn(t, true)
	inner, err := store.(*sealed.Store).Inner().ReadAll(t.Context(), batch[0].Position-1, eventstore.Filter{}, 1)
	if err != nil || len(inner) != 1 || !personaldata.Contains(inner[0].Data) {
		t.Fatalf("the opening is not sealed in the log: %v %v", err, inner)
	}
	rep := verifyStore(t, store)
	if !rep.OK() || rep.Verified != len(batch)-1 || rep.Situations != 1 {
		t.Fatalf("verified %d of %d decisions: %+v", rep.Verified, len(batch)-1, rep.Divergences)
	}
}

// The replay folds the facts of the persons the decisions name and of
// their kin, however distant the fact that joins them, and leaves the
// others' facts out; the decisions verify as when every fact is folded.
func TestVerifyFoldsTheFactsOfTheDecidedAndTheirKin(t *testing.T) {
	for _, sealedFields := range []bool{false, true} {
		var father, grandmother uuid.UUID
		store, _ := birthLogWith(t, sealedFields, func(mother uuid.UUID, appendLife appendFact) uuid.UUID {
			person := func(id uuid.UUID, name string, citizenship string) {
				appendLife(id, lifeevent.PersonRegistered, map[string]any{"person_id": id, "family_name": name, "given_name": "Иван",
					"birth_date": "1960-01-01", "sex": "M", "citizenship": citizenship, "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Москва"})
			}
			// The father, born to a foreign grandmother (his citizenship
			// is hers): the child's family reads his row, made from
			// hers.
			father, grandmother = uuid.New(), uuid.New()
			person(grandmother, "Смит", "GB")
			appendLife(father, lifeevent.BirthRegistered, map[string]any{"record_number": "0", "child_id": father, "child_family_name": "Смит",
				"child_given_name": "Джон", "birth_date": "1990-01-01", "sex": "M", "mother_id": grandmother, "region": "RU-MOW",
				"time_zone": "Europe/Moscow", "address": "Москва"})
			// Strangers: registered, married to each other, one of them
			// with an income.
			a, b := uuid.New(), uuid.New()
			person(a, "Петров", "RU")
			person(b, "Сидорова", "RU")
			appendLife(a, lifeevent.MarriageRegistered, map[string]any{"record_number": "m", "spouse_ids": []uuid.UUID{a, b}, "date": "2026-01-10"})
			appendLife(b, lifeevent.IncomeReported, map[string]any{"person_id": b, "year": 2025, "annual_income_rub": 100000})
			return father
		})
		rep := verifyStore(t, store)
		if len(rep.Divergences) != 0 || rep.Verified == 0 {
			t.Fatalf("sealed %v: %d verified, divergences %+v", sealedFields, rep.Verified, rep.Divergences)
		}
		// The mother, the child, the father and his mother; the
		// strangers' four facts left.
		if rep.RegisterPersons != 4 || rep.FactsLeft != 4 {
			t.Fatalf("sealed %v: folded %d persons' facts, left %d facts; want 4 and 4", sealedFields, rep.RegisterPersons, rep.FactsLeft)
		}
	}
}

// An opening whose recorded trigger is not the event at the position it
// names, here a stranger's registration, which the replay would otherwise
// leave out of its register: reported as such, whatever the register
// folds.
func TestVerifyReportsATriggerThatIsNotTheEventAtItsPosition(t *testing.T) {
	var stranger uuid.UUID
	store, batch := birthLogWith(t, false, func(_ uuid.UUID, appendLife appendFact) uuid.UUID {
		stranger = uuid.New()
		appendLife(stranger, lifeevent.PersonRegistered, map[string]any{"person_id": stranger, "family_name": "Петров", "given_name": "Иван",
			"birth_date": "1960-01-01", "sex": "M", "citizenship": "RU", "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Москва"})
		return uuid.Nil
	})
	strangers, err := store.ReadStream(context.Background(), lifeevent.PersonStream(stranger), 0, eventstore.Forwards, 10)
	if err != nil || len(strangers) != 1 {
		t.Fatalf("the stranger's stream: %v %v", err, strangers)
	}
	forged, edited := forgeOpening(t, store, batch, func(o *situation.Opened) {
		o.Trigger.Position = uint64(strangers[0].Position)
	})
	rep := verifyStore(t, forged)
	found := false
	for _, d := range rep.Divergences {
		found = found || d.Kind == audit.KindTrigger && d.EventID == edited
	}
	if !found {
		t.Fatalf("want the trigger reported, got %+v", rep.Divergences)
	}
}
