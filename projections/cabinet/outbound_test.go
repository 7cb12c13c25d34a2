package cabinet_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// TestNotificationsOfTellsWhatTheCabinetShows keeps NotificationsOf (what
// is sent on to a gateway) in step with the notifications the cabinet
// stores: for every event of a situation's life, the notifications derived
// from the stream up to it, gathered per addressee, are exactly each
// person's /v1/me/notifications.
func TestNotificationsOfTellsWhatTheCabinetShows(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-outbound")
	// The adult son is the beneficiary of one more draft: he is told too.
	forSon := b.residence
	forSon.Key, forSon.Step, forSon.Beneficiary = "residence-registration[son]", "residence-registration", adultSon
	f.openSituation(b.opened(), append(b.steps(), forSon)...)
	residence, allowance, queue := stepID(b.id, b.residence), stepID(b.id, b.allowance), grantID(b.id, b.queue)
	son := stepID(b.id, forSon)

	steps := []func(st *situation.State, now time.Time) ([]situation.Record, error){
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Confirm(residence, map[string]any{"address": "Moscow, Arbat 5"}, mother, now)
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.AgencyDecide(residence, catalogue.OutcomeGranted, nil, now)
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Remind(allowance, "2026-05-30", now), nil
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Expire(allowance, nil, now), nil
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.WithdrawGrant(queue, mother, now)
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.WithdrawDraftsOf(mother, situation.WithdrawOrder{Reason: situation.ReasonDied, Cause: uuid.New(),
				Notify: []string{father}}, now), nil
		},
		func(st *situation.State, now time.Time) ([]situation.Record, error) {
			return st.Rate(5, "", father, now)
		},
	}
	for _, cmd := range steps {
		f.later(time.Hour)
		f.command(b.id, cmd)
	}
	if d, _ := f.cab.Draft(b.id, son); d.Status != situation.StatusWithdrawn {
		t.Fatalf("the son's draft = %+v, want it withdrawn with his mother's", d)
	}

	events, err := f.store.ReadStream(context.Background(), situation.Stream(b.id), 0, eventstore.Forwards, 1000)
	if err != nil {
		t.Fatal(err)
	}
	derived := map[string][]cabinet.Notification{}
	ids := map[uuid.UUID]bool{}
	for i := range events {
		got, err := cabinet.NotificationsOf(events[:i+1])
		if err != nil {
			t.Fatalf("event %d (%s): %v", i, events[i].Type, err)
		}
		for _, a := range got {
			if ids[a.ID] {
				t.Errorf("notification id %s derived twice", a.ID)
			}
			ids[a.ID] = true
			for _, p := range a.To {
				derived[p] = append(derived[p], a.Notification)
			}
		}
	}
	for _, p := range []string{mother, father, child, adultSon, stranger} {
		stored, err := f.cab.Notifications(p)
		if err != nil {
			t.Fatal(err)
		}
		got := derived[p]
		if !sameNotifications(got, stored) {
			t.Errorf("%s: derived %d notifications, the cabinet stores %d:\nderived %+v\nstored  %+v", p, len(got), len(stored), got, stored)
		}
	}
	if len(derived[mother]) == 0 || len(derived[adultSon]) == 0 || len(derived[father]) == 0 || len(derived[child]) != 0 {
		t.Errorf("addressees: mother %d, son %d, father %d, child %d", len(derived[mother]), len(derived[adultSon]), len(derived[father]), len(derived[child]))
	}
}

// sameNotifications compares as sets: the order among notifications of one
// instant is the cabinet's business.
func sameNotifications(a, b []cabinet.Notification) bool {
	if len(a) != len(b) {
		return false
	}
	byID := map[uuid.UUID]cabinet.Notification{}
	for _, n := range b {
		byID[n.ID] = n
	}
	for _, n := range a {
		m, ok := byID[n.ID]
		if !ok || !n.At.Equal(m.At) {
			return false
		}
		n.At, m.At = time.Time{}, time.Time{}
		if !reflect.DeepEqual(n, m) {
			return false
		}
	}
	return true
}

func TestNotificationsOfIgnoresOtherStreams(t *testing.T) {
	got, err := cabinet.NotificationsOf([]eventstore.RecordedEvent{{Stream: "person-x", Event: eventstore.Event{Type: "person.registered"}}})
	if err != nil || got != nil {
		t.Errorf("a person event: %v, %v", got, err)
	}
	if got, err := cabinet.NotificationsOf(nil); err != nil || got != nil {
		t.Errorf("nothing: %v, %v", got, err)
	}
}
