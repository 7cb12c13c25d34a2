package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// TestAuditVerifyOnEventStoreDB runs `audit verify --store URL` against a
// log a server wrote on EventStoreDB (the double unless
// LIFESITUATIONS_ESDB_URL is set): the decisions of a birth verify, the
// report says the hash chain was not checked there; then a forged
// decision appended behind the sagas' back is reported and the command
// fails.
func TestAuditVerifyOnEventStoreDB(t *testing.T) {
	url, _ := esdbUnderTest(t)
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s := startServer(t, "--store", url, "--clock", "manual", "--clock-start", t0.Format(time.RFC3339))
	mother, child := uuid.NewString(), uuid.NewString()
	send(t, s, population, registered(mother, "Proverkina", "Anna", "1993-04-02", "F", "RU", "RU-MOW", "Europe/Moscow", "Moscow, Arbat 3", t0))
	send(t, s, civilStatus, born("esdb-verify-"+child, child, mother, "2026-03-05", "770-2026-000072", t0))
	setClock(t, s, t0.Add(time.Hour))

	verify := func() (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"audit", "verify", "--store", url}, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	report, err := verify()
	if err != nil {
		t.Fatalf("audit verify on a clean log: %v\n%s", err, report)
	}
	if !strings.Contains(report, "hash chain: NOT checked") || !strings.Contains(report, " 0 divergence(s)") || strings.Contains(report, " 0 decisions") {
		t.Fatalf("report of a clean log on EventStoreDB:\n%s", report)
	}

	// A forged decision: a copy of a recorded grant, under a new id, made a
	// rejection and appended straight to the situation's stream.
	raw, err := esdb.Open(t.Context(), url, esdb.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	evs, err := raw.ReadAll(t.Context(), 0, eventstore.Filter{TypePrefixes: []string{situation.TypeStepDecided}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var forged *eventstore.RecordedEvent
	for i := range evs {
		if bytes.Contains(evs[i].Data, []byte(`"outcome":"granted"`)) {
			forged = &evs[i]
			break
		}
	}
	if forged == nil {
		t.Fatal("no granted step in the log")
	}
	var data map[string]any
	if err := json.Unmarshal(forged.Data, &data); err != nil {
		t.Fatal(err)
	}
	data["decision"].(map[string]any)["outcome"] = "rejected"
	body, _ := json.Marshal(data)
	if _, err := raw.Append(t.Context(), forged.Stream, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: forged.Type, SchemaVersion: forged.SchemaVersion, Data: body, Metadata: forged.Metadata,
	}); err != nil {
		t.Fatal(err)
	}
	report, err = verify()
	if err == nil || !strings.Contains(err.Error(), "divergence") {
		t.Fatalf("audit verify after a forged decision: %v\n%s", err, report)
	}
	t.Logf("report after the forgery:\n%s", report)
}
