package erasure_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/keystore"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
	"lifesituations/sagas/erasure"
)

func setup(t *testing.T) (*sealed.Store, *erasure.Service, string) {
	t.Helper()
	dir := t.TempDir()
	inner, err := embedded.Open(filepath.Join(dir, "events"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keystore.OpenIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := sealed.New(inner, keys)
	t.Cleanup(func() { _ = s.Close() })
	person := uuid.NewString()
	data, _ := json.Marshal(map[string]string{"person_id": person, "family_name": "Smirnova", "address": "Moscow"})
	if _, err := s.Append(context.Background(), "person-"+person, eventstore.Any,
		eventstore.Event{ID: uuid.New(), Type: "person.registered", Data: data}); err != nil {
		t.Fatal(err)
	}
	return s, erasure.New(s, keys, clock.NewManual(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))), person
}

func TestRequestValidatesAndFindsThePerson(t *testing.T) {
	_, svc, person := setup(t)
	ctx := context.Background()
	var invalid *erasure.InvalidError
	if _, err := svc.Request(ctx, "nope", " ", "op"); !errors.As(err, &invalid) || len(invalid.Fields) != 2 {
		t.Fatalf("bad id and blank reason: %v", err)
	}
	if _, err := svc.Request(ctx, uuid.NewString(), "r", "op"); !errors.Is(err, erasure.ErrUnknownPerson) {
		t.Fatalf("unknown person: %v", err)
	}
	r, err := svc.Request(ctx, person, "r", "op")
	if err != nil || r.Status != erasure.StatusPending {
		t.Fatalf("request: %+v %v", r, err)
	}
	if _, err := svc.Approve(ctx, r.ID, "op"); !errors.Is(err, erasure.ErrSamePrincipal) {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := svc.Approve(ctx, uuid.New(), "aud"); !errors.Is(err, erasure.ErrNotFound) {
		t.Fatalf("unknown request: %v", err)
	}
}

// TestApproveCompletesAfterACrash: the key was deleted but the record not
// written (a crash between the two); approving again writes it once.
func TestApproveCompletesAfterACrash(t *testing.T) {
	s, svc, person := setup(t)
	ctx := context.Background()
	r, err := svc.Request(ctx, person, "court order", "op")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Keys().Erase(ctx, person); err != nil { // the crash's half
		t.Fatal(err)
	}
	got, err := svc.Approve(ctx, r.ID, "aud")
	if err != nil || got.Status != erasure.StatusErased || got.ApprovedBy != "aud" {
		t.Fatalf("approve: %+v %v", got, err)
	}
	again, err := svc.Approve(ctx, r.ID, "aud-2")
	if err != nil || again.ApprovedBy != "aud" {
		t.Fatalf("approving again: %+v %v", again, err)
	}
	evs, err := s.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil {
		t.Fatal(err)
	}
	erased := 0
	for _, e := range evs {
		if e.Type == personaldata.TypeErased {
			erased++
			var d personaldata.Erased
			if err := json.Unmarshal(e.Data, &d); err != nil || d.RequestedBy != "op" || d.ApprovedBy != "aud" || d.Reason != "court order" {
				t.Fatalf("person.erased: %s %v", e.Data, err)
			}
		}
	}
	if erased != 1 {
		t.Fatalf("%d person.erased events", erased)
	}
	var reg map[string]any
	_ = json.Unmarshal(evs[0].Data, &reg)
	if reg["family_name"] != personaldata.Marker {
		t.Fatalf("the registration after erasure: %s", evs[0].Data)
	}
}
