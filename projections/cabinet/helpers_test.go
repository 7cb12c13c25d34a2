package cabinet_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Persons of the tests.
const (
	mother   = "6f1c3c1e-0000-4000-8000-000000000001"
	father   = "6f1c3c1e-0000-4000-8000-000000000002"
	child    = "6f1c3c1e-0000-4000-8000-0000000000c1"
	adultSon = "6f1c3c1e-0000-4000-8000-0000000000c2"
	stranger = "6f1c3c1e-0000-4000-8000-0000000000ff"
)

// family is the register's parenthood as the tests set it.
type family map[string][]cabinet.Child

func (f family) Children(parent string) []cabinet.Child { return f[parent] }

var testFamily = family{
	mother: {{ID: child, BirthDate: "2026-02-20"}, {ID: adultSon, BirthDate: "2000-05-05"}},
	father: {{ID: child, BirthDate: "2026-02-20"}},
}

type fixture struct {
	t     testing.TB
	dir   string
	clock *clock.Manual
	store eventstore.Store
	cab   *cabinet.Cabinet
	stop  func()
	// opts are the options open opens the cabinet with, beside the family.
	opts []cabinet.Option
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := clock.NewManual(start)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clk))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, dir: t.TempDir(), clock: clk, store: store}
	f.open()
	return f
}

// open opens the cabinet and runs it until the test ends or f.stop.
func (f *fixture) open() {
	f.t.Helper()
	cab, err := cabinet.Open(filepath.Join(f.dir, "cabinet.db"), append([]cabinet.Option{cabinet.WithFamily(testFamily, f.clock)}, f.opts...)...)
	if err != nil {
		f.t.Fatalf("open cabinet: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := cab.Run(ctx, f.store); err != nil && !errors.Is(err, context.Canceled) {
			f.t.Errorf("run: %v", err)
		}
	})
	f.cab = cab
	f.stop = sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if err := cab.Close(); err != nil {
			f.t.Errorf("close cabinet: %v", err)
		}
	})
	f.t.Cleanup(f.stop)
}

// reopen stops the cabinet and opens it again on the same file.
func (f *fixture) reopen() {
	f.t.Helper()
	f.stop()
	f.open()
}

// append stores records in a situation's stream with the expectation and
// waits for the cabinet to fold them.
func (f *fixture) append(sit uuid.UUID, expected eventstore.ExpectedRevision, recs []situation.Record) eventstore.Position {
	f.t.Helper()
	events := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			f.t.Fatalf("encode %s: %v", r.Type, err)
		}
		events[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data,
			Metadata: eventstore.Metadata{OccurredAt: f.clock.Now()}}
	}
	res, err := f.store.Append(context.Background(), situation.Stream(sit), expected, events...)
	if err != nil {
		f.t.Fatalf("append to situation %s: %v", sit, err)
	}
	f.wait(res.Position)
	return res.Position
}

func (f *fixture) wait(pos eventstore.Position) {
	f.t.Helper()
	if err := f.cab.WaitFor(context.Background(), pos); err != nil {
		f.t.Fatalf("wait for %d: %v", pos, err)
	}
}

// openSituation records a situation with its first decisions.
func (f *fixture) openSituation(o situation.Opened, steps ...catalogue.StepDecision) {
	f.t.Helper()
	o.OpenedAt = f.clock.Now()
	f.append(o.SituationID, eventstore.NoStream, situation.Open(o, steps, f.clock.Now()))
}

// command runs a situation command on the stream's current state, as the
// saga runner does, and waits for the cabinet to fold what it records.
func (f *fixture) command(sit uuid.UUID, cmd func(*situation.State, time.Time) ([]situation.Record, error)) {
	f.t.Helper()
	recorded, err := f.store.ReadStream(context.Background(), situation.Stream(sit), 0, eventstore.Forwards, 1000)
	if err != nil {
		f.t.Fatalf("read situation %s: %v", sit, err)
	}
	var st situation.State
	for _, e := range recorded {
		if err := st.Apply(e.Type, e.Data); err != nil {
			f.t.Fatalf("fold situation %s: %v", sit, err)
		}
	}
	recs, err := cmd(&st, f.clock.Now())
	if err != nil {
		f.t.Fatalf("command on situation %s: %v", sit, err)
	}
	if len(recs) > 0 {
		f.append(sit, eventstore.Exact(recorded[len(recorded)-1].Revision), recs)
	}
}

// later moves the clock on so that each change has its own instant.
func (f *fixture) later(d time.Duration) {
	f.t.Helper()
	if err := f.clock.Advance(d); err != nil {
		f.t.Fatal(err)
	}
}

// birth is a birth-of-child situation of the mother and the child, with the
// father as a participant.
type birth struct {
	id                                                uuid.UUID
	certificate, allowance, queue, capital, residence catalogue.StepDecision
}

func newBirth(trigger string) birth {
	curator := catalogue.Curator{Name: "I. Petrova", Agency: "Social Fund"}
	b := birth{id: situation.ID("birth-of-child", uuid.NewSHA1(uuid.NameSpaceURL, []byte(trigger)))}
	b.certificate = catalogue.StepDecision{Key: "birth-certificate", Step: "birth-certificate", Service: "birth-certificate",
		Title: catalogue.Text{RU: "Свидетельство о рождении", EN: "Birth certificate"}, Mode: catalogue.ModeGrant,
		Outcome: catalogue.OutcomeGranted, Applicant: mother, Beneficiary: child, Registry: "civil-status",
		Prefill: map[string]any{"child_given_name": "Petr"}, Curator: curator, LegalBasis: "143-FZ art. 23",
		Rules: []catalogue.RuleCheck{{Rule: "always", Passed: true}}}
	b.allowance = catalogue.StepDecision{Key: "child-allowance", Step: "child-allowance", Service: "child-allowance",
		Title: catalogue.Text{RU: "Пособие на ребёнка", EN: "Child allowance"}, Mode: catalogue.ModeDraft,
		Outcome: catalogue.OutcomeDrafted, Applicant: mother, Beneficiary: child, Registry: "social-benefits",
		Prefill:  map[string]any{"address": "Moscow, Tverskaya 1", "bank_account": "40817810000000000001"},
		Editable: []string{"bank_account"}, Deadline: "2026-08-28", Curator: curator, LegalBasis: "81-FZ art. 9",
		Reasons: []catalogue.Reason{{Kind: catalogue.ReasonNote, Text: catalogue.Text{RU: "Нет данных о доходах", EN: "No income data"}}}}
	b.queue = catalogue.StepDecision{Key: "kindergarten-queue", Step: "kindergarten-queue", Service: "kindergarten-queue",
		Title: catalogue.Text{RU: "Очередь в детский сад", EN: "Kindergarten queue"}, Mode: catalogue.ModeGrantOptOut,
		Outcome: catalogue.OutcomeGranted, OptOut: true, Applicant: mother, Beneficiary: child, Registry: "education",
		Prefill: map[string]any{"region": "RU-MOW"}, Curator: curator, LegalBasis: "273-FZ art. 67"}
	b.capital = catalogue.StepDecision{Key: "maternity-capital", Step: "maternity-capital", Service: "maternity-capital",
		Title: catalogue.Text{RU: "Материнский капитал", EN: "Maternity capital"}, Mode: catalogue.ModeGrant,
		Outcome: catalogue.OutcomeRejected, Applicant: mother, Beneficiary: mother, Curator: curator, LegalBasis: "256-FZ",
		Reasons: []catalogue.Reason{{Kind: catalogue.ReasonRule, Rule: "citizen",
			Text: catalogue.Text{RU: "Мать не гражданка РФ", EN: "The mother is not a citizen of RU"}, LegalBasis: "256-FZ art. 3"}}}
	b.residence = catalogue.StepDecision{Key: "residence-registration", Step: "residence-registration", Service: "residence-registration",
		Title: catalogue.Text{RU: "Регистрация по месту жительства", EN: "Residence registration"}, Mode: catalogue.ModeDraft,
		Outcome: catalogue.OutcomeDrafted, Applicant: mother, Beneficiary: child, Registry: "residence",
		Prefill: map[string]any{"address": "Moscow, Tverskaya 1"}, Editable: []string{"address"},
		Curator: curator, LegalBasis: "5242-1 art. 6"}
	return b
}

func (b birth) opened() situation.Opened {
	return situation.Opened{
		SituationID: b.id, Kind: "birth-of-child", Title: catalogue.Text{RU: "Рождение ребёнка", EN: "Birth of a child"},
		PersonID: mother, Participants: []string{mother, child, father},
		Trigger: situation.Trigger{EventID: uuid.New(), Type: "birth.registered", EventDate: "2026-02-20",
			Data: []byte(`{"child_id":"` + child + `"}`)},
		Facts: map[string]catalogue.Person{
			mother: {ID: mother, BirthDate: "1990-01-01", Address: "Moscow"},
			child:  {ID: child, BirthDate: "2026-02-20"},
			father: {ID: father, BirthDate: "1988-07-07"},
		},
	}
}

// steps in the order the situation decides them.
func (b birth) steps() []catalogue.StepDecision {
	return []catalogue.StepDecision{b.certificate, b.allowance, b.queue, b.capital, b.residence}
}

func stepID(sit uuid.UUID, d catalogue.StepDecision) uuid.UUID { return situation.StepID(sit, d.Key) }

func grantID(sit uuid.UUID, d catalogue.StepDecision) uuid.UUID {
	return situation.GrantID(stepID(sit, d))
}

// openMove opens a move situation of the mother's adult son: his grant
// and his draft.
func openMove(f *fixture) uuid.UUID {
	f.t.Helper()
	id := situation.ID("move", uuid.New())
	curator := catalogue.Curator{Name: "A. Sidorov", Agency: "Tax Service"}
	f.openSituation(situation.Opened{
		SituationID: id, Kind: "move", Title: catalogue.Text{RU: "Переезд", EN: "Move"},
		PersonID: adultSon, Participants: []string{adultSon},
		Facts: map[string]catalogue.Person{adultSon: {ID: adultSon, BirthDate: "2000-05-05"}},
	}, catalogue.StepDecision{Key: "tax-office-transfer", Service: "tax-office-transfer",
		Title: catalogue.Text{RU: "Перевод в налоговую", EN: "Tax office transfer"}, Outcome: catalogue.OutcomeGranted,
		Applicant: adultSon, Beneficiary: adultSon, Registry: "tax", Curator: curator},
		catalogue.StepDecision{Key: "clinic-attachment", Service: "clinic-attachment",
			Title: catalogue.Text{RU: "Прикрепление к поликлинике", EN: "Clinic attachment"}, Outcome: catalogue.OutcomeDrafted,
			Applicant: adultSon, Beneficiary: adultSon, Curator: curator})
	return id
}
