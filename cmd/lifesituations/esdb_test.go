package main

import (
	"testing"
	"time"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
)

// TestServeOnTheEventStoreDBDouble runs the whole server with --store
// esdb:// against the in-process DOUBLE of an EventStoreDB node: it
// exercises the wiring and the adapter's mapping end to end, and proves
// nothing about a real server (the contract suite does that where
// LIFESITUATIONS_ESDB_URL is set).
func TestServeOnTheEventStoreDBDouble(t *testing.T) {
	double, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { double.Close() })
	s := startServer(t, "--store", double.URL(), "--clock", "manual", "--clock-start", "2026-03-10T09:00:00Z")

	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	mother, child := personID(61), personID(62)
	send(t, s, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	birth := born("esdb-birth", child, mother, "2026-03-05", "770-2026-000061", t0)
	send(t, s, civilStatus, birth)
	setClock(t, s, t0.Add(time.Minute))
	if got := send(t, s, civilStatus, birth); got["duplicates"] != 1.0 {
		t.Errorf("resent birth on EventStoreDB: %v", got)
	}
	steps := signIn(t, s, mother).stepsOf("birth-of-child")
	if len(steps) != 7 || steps["birth-certificate"].Outcome != "granted" {
		t.Errorf("the bundle on EventStoreDB: %+v", steps)
	}
}
