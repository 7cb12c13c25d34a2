package cabinet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// snapshot is everything the persons of the tests see, as JSON.
func (f *fixture) snapshot() string {
	f.t.Helper()
	out := map[string]any{}
	for _, p := range []string{mother, father, child, adultSon, stranger} {
		d, err1 := f.cab.Drafts(p)
		g, err2 := f.cab.Grants(p)
		s, err3 := f.cab.Situations(p)
		n, err4 := f.cab.Notifications(p)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				f.t.Fatal(err)
			}
		}
		out[p] = []any{d, g, s, n}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(raw)
}

func TestRestartsFromItsCheckpointWithoutDoubles(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-restart")
	f.openSituation(b.opened(), b.steps()...)
	openMove(f)
	before, pos := f.snapshot(), f.cab.Position()

	f.reopen()
	if got := f.cab.Position(); got != pos {
		t.Fatalf("reopened at %d, want the checkpoint %d", got, pos)
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("reopening changed what citizens see:\nbefore %s\nafter  %s", before, after)
	}

	// Events stored while the cabinet is down are folded, once, on restart:
	// several events of one stored situation in one batch.
	f.stop()
	allowance, residence := stepID(b.id, b.allowance), stepID(b.id, b.residence)
	st := foldStream(t, f.store, b.id)
	f.later(time.Hour)
	recs, err := st.Decline(allowance, "", mother, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	more, err := st.Confirm(residence, nil, mother, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	last := appendRecords(t, f.store, b.id, eventstore.Exact(5), append(recs, more...))
	f.open()
	f.wait(last)

	notes, _ := f.cab.Notifications(mother)
	if len(notes) != 7 || notes[0].Outcome != situation.OutcomeSubmitted || notes[1].Outcome != situation.OutcomeDeclined {
		t.Fatalf("notifications after the restart = %+v", notes)
	}
	drafts, _ := f.cab.Drafts(mother)
	if len(drafts) != 2 {
		t.Fatalf("drafts after the restart = %+v", drafts)
	}
	for _, d := range drafts {
		if d.Status == situation.StatusOpen {
			t.Errorf("draft %s still open after the restart", d.Service)
		}
	}
	snap := f.snapshot()
	f.reopen()
	if again := f.snapshot(); again != snap {
		t.Fatalf("a second restart changed what citizens see")
	}
}

func TestEventsOfOtherStreamsMoveThePosition(t *testing.T) {
	f := newFixture(t)
	res, err := f.store.Append(context.Background(), "person-"+mother, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.wait(res.Position)
	// Such events are not worth a transaction of their own: a restart may
	// read them again, and still reaches their position.
	f.reopen()
	f.wait(res.Position)
}

func foldStream(t *testing.T, store eventstore.Store, sit uuid.UUID) *situation.State {
	t.Helper()
	events, err := store.ReadStream(context.Background(), situation.Stream(sit), 0, eventstore.Forwards, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var st situation.State
	for _, e := range events {
		if err := st.Apply(e.Type, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	return &st
}

func appendRecords(t *testing.T, store eventstore.Store, sit uuid.UUID, expected eventstore.ExpectedRevision, recs []situation.Record) eventstore.Position {
	t.Helper()
	events := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			t.Fatal(err)
		}
		events[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data}
	}
	res, err := store.Append(context.Background(), situation.Stream(sit), expected, events...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}
