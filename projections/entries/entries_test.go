package entries_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/entries"
)

func TestIndexesEveryGrantsEntry(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(now)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	x := entries.New(store)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := x.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	defer wg.Wait()
	defer cancel()

	sit := situation.ID("birth-of-child", uuid.New())
	decide := func(service string, outcome catalogue.Outcome) catalogue.StepDecision {
		return catalogue.StepDecision{Key: service, Service: service, Outcome: outcome, Registry: "reg-" + service,
			Applicant: "m", Beneficiary: "c"}
	}
	recs := situation.Open(situation.Opened{SituationID: sit, Kind: "birth-of-child", PersonID: "m"},
		[]catalogue.StepDecision{decide("snils", catalogue.OutcomeGranted), decide("allowance", catalogue.OutcomeDrafted),
			decide("capital", catalogue.OutcomeRejected)}, now)
	var st situation.State
	appendRecs := func(expected eventstore.ExpectedRevision, recs []situation.Record) eventstore.Position {
		t.Helper()
		var evs []eventstore.Event
		for _, r := range recs {
			data, _ := r.Payload()
			evs = append(evs, eventstore.Event{ID: r.ID, Type: r.Type, Data: data})
			if err := st.Apply(r.Type, data); err != nil {
				t.Fatal(err)
			}
		}
		res, err := store.Append(context.Background(), situation.Stream(sit), expected, evs...)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	first := appendRecs(eventstore.NoStream, recs)
	draft := situation.StepID(sit, "allowance")
	confirmed, _ := st.Confirm(draft, nil, "m", now)
	appendRecs(eventstore.Exact(3), confirmed)
	decided, _ := st.AgencyDecide(draft, catalogue.OutcomeGranted, nil, now)
	last := appendRecs(eventstore.Exact(4), decided)

	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second) // a guard against a hang, not a measurement
	defer wcancel()
	if err := x.WaitFor(wctx, last); err != nil {
		t.Fatal(err)
	}
	snils := situation.GrantID(situation.StepID(sit, "snils"))
	e, ok := x.Lookup("reg-snils", situation.EntryID(snils))
	if !ok || e.GrantID != snils || e.Situation != sit || e.Position == 0 || e.Position > first {
		t.Errorf("automatic grant's entry = %+v, %v", e, ok)
	}
	allowance := situation.GrantID(draft)
	if e, ok := x.Lookup("reg-allowance", situation.EntryID(allowance)); !ok || e.GrantID != allowance || e.Position != last {
		t.Errorf("granted application's entry = %+v, %v", e, ok)
	}
	if _, ok := x.Lookup("reg-allowance", situation.EntryID(snils)); ok {
		t.Error("an entry is found in another registry")
	}
	capital := situation.GrantID(situation.StepID(sit, "capital"))
	if _, ok := x.Lookup("reg-capital", situation.EntryID(capital)); ok {
		t.Error("a rejection made an entry")
	}
}
