package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// TestSharedTriggersOpenPersonalData: the worker processes' persistent
// subscription reads below the personal-data decorator, so sharedTriggers
// must open what it delivers, as every read through the decorator is.
func TestSharedTriggersOpenPersonalData(t *testing.T) {
	d, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	raw, err := esdb.Open(t.Context(), d.URL(), esdb.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	store := sealESDB(raw)
	defer store.Close()
	person := uuid.NewString()
	data, _ := json.Marshal(map[string]any{"person_id": person, "family_name": "Openova", "given_name": "Anna", "address": "Moscow, Arbat 1", "birth_date": "1990-05-01"})
	if _, err := store.Append(t.Context(), "person-"+person, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: data}); err != nil {
		t.Fatal(err)
	}
	subscribe, err := sharedTriggers(store)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second) // a guard against a hang, not a measurement
	defer cancel()
	var got struct {
		FamilyName string `json:"family_name"`
	}
	err = subscribe(ctx, func(e eventstore.RecordedEvent) error {
		if personaldata.Contains(e.Data) {
			t.Errorf("delivered sealed: %s", e.Data)
		}
		if err := json.Unmarshal(e.Data, &got); err != nil {
			t.Errorf("delivered %s: %v", e.Data, err)
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || got.FamilyName != "Openova" {
		t.Fatalf("delivered family name %q (%v)", got.FamilyName, err)
	}
}
