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
	"lifesituations/domain/personaldata"
)

// TestErasureOnEventStoreDB erases a mother through the API of a server on
// EventStoreDB (the double unless LIFESITUATIONS_ESDB_URL is set) while a
// second process (--role api) serves from the same server with keys of
// its own cache: the log on the server never holds her name in clear, the
// eraser's audit trail and cabinet show the marker, and so do the other
// process's once it has read her person.erased from the log.
func TestErasureOnEventStoreDB(t *testing.T) {
	url, double := esdbUnderTest(t)
	raw, err := esdb.Open(t.Context(), url, esdb.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	from, err := raw.LastPosition(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s := startServer(t, "--store", url, "--clock", "manual", "--clock-start", t0.Format(time.RFC3339))
	api := startServer(t, "--store", url, "--role", "api")
	mother, child := uuid.NewString(), uuid.NewString()
	const name, address = "Erasova", "Moscow, Lenina street 7, flat 12"
	send(t, s, population, registered(mother, name, "Maria", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", address, t0))
	send(t, s, civilStatus, born("esdb-erase-"+child, child, mother, "2026-03-05", "770-2026-000071", t0))
	setClock(t, s, t0.Add(time.Hour))

	maria, mariaOnAPI := signIn(t, s, mother), signIn(t, api, mother)
	if got := prefillOf(t, maria, "residence-registration"); got["address"] != address {
		t.Fatalf("residence-registration before erasure: %v", got)
	}
	waitFor(t, "the api process's cabinet", func() bool {
		return draftValue(mariaOnAPI, "residence-registration", "address") == address
	})
	// The api process opens her registration, so its cache holds her key.
	if d := firstData(t, auditor{t, api}.events(mother, ""), "person.registered"); d["family_name"] != name {
		t.Fatalf("audit events on the api process before erasure: %v", d)
	}

	// What the server holds: sealed, never her name or address.
	stored, err := raw.ReadAll(t.Context(), from, eventstore.Filter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sealedSeen := false
	for _, e := range stored {
		if bytes.Contains(e.Data, []byte(name)) || bytes.Contains(e.Data, []byte("Lenina")) {
			t.Fatalf("the server holds %s %s in clear: %s", e.Stream, e.Type, e.Data)
		}
		sealedSeen = sealedSeen || personaldata.Contains(e.Data)
	}
	if !sealedSeen {
		t.Fatalf("no sealed value among the %d events on the server", len(stored))
	}

	post := func(path, token string, body any) response {
		t.Helper()
		raw, _ := json.Marshal(body)
		return do(t, "POST", s.url+path, token, "application/json", raw)
	}
	r := post("/v1/erasures", devToken(t, s, "operator", "op-1"), map[string]any{"person_id": mother, "reason": "Court order 12/2026"})
	if r.status != 201 {
		t.Fatalf("request an erasure on EventStoreDB: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	r = post("/v1/erasures/"+id+"/approve", devToken(t, s, "auditor", "aud-2"), nil)
	if r.status != 200 || r.json(t)["status"] != "erased" {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if double != nil && !double.Tombstoned(esdb.KeyStreamPrefix+mother) {
		t.Fatal("her key stream is not tombstoned")
	}

	assertErasedAudit := func(who string, s *server) {
		t.Helper()
		evs := auditor{t, s}.events(mother, "")
		d := firstData(t, evs, "person.registered")
		if d["family_name"] != personaldata.Marker || d["address"] != personaldata.Marker || d["birth_date"] != "1994-03-01" {
			t.Fatalf("audit events on %s after erasure: %v", who, d)
		}
		if last := evs[len(evs)-1]; last.Type != personaldata.TypeErased || !strings.Contains(string(last.Data), `"approved_by":"aud-2"`) {
			t.Fatalf("the last event on %s is %s %s", who, last.Type, last.Data)
		}
	}
	assertErasedAudit("the eraser", s)
	// The server's own backups hold the keys (docs/operations.md): no
	// online backup here, though the decorator has a Backup method.
	if r := post("/v1/ops/backup", devToken(t, s, "operator", "op-1"), nil); r.status != 404 && r.status != 405 {
		t.Fatalf("POST /v1/ops/backup on EventStoreDB: %d %s", r.status, r.body)
	}
	assertErasedCabinet(t, maria)
	// The other process: its cabinet folds person.erased, and having read
	// it, its reads no longer use the key it had cached (within the
	// cache's lifetime: this does not wait for it to expire).
	waitFor(t, "the api process's cabinet to show the erasure", func() bool {
		return draftValue(mariaOnAPI, "residence-registration", "address") == personaldata.Marker
	})
	assertErasedCabinet(t, mariaOnAPI)
	assertErasedAudit("the api process", api)
}

// draftValue is a pre-filled value of a citizen's draft, "" when there is
// no such draft yet.
func draftValue(c citizen, service, field string) any {
	for _, d := range c.drafts() {
		if d.Service == service {
			return d.Prefill[field]
		}
	}
	return ""
}
