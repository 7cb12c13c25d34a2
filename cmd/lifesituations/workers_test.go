package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
)

func TestServeRoleAndWorkersFlags(t *testing.T) {
	cfg, err := parseServe(nil, io.Discard)
	if err != nil || cfg.role.value != roleAll || cfg.core.workers != 1 {
		t.Fatalf("defaults: role %q, workers %d, %v; want all, 1", cfg.role.value, cfg.core.workers, err)
	}
	for _, role := range []string{roleIngest, roleWorker, roleAPI} {
		if cfg, err := parseServe([]string{"--role", role, "--store", "esdb://127.0.0.1:2113?tls=false"}, io.Discard); err != nil || cfg.role.value != role {
			t.Errorf("--role %s on esdb: %q, %v", role, cfg.role.value, err)
		}
		// One process holds the embedded store: it can only do everything.
		_, err := parseServe([]string{"--role", role}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--store esdb://") {
			t.Errorf("--role %s on the embedded store: %v, want a refusal naming --store esdb://", role, err)
		}
	}
	t.Setenv("LIFESITUATIONS_ROLE", "worker")
	t.Setenv("LIFESITUATIONS_WORKERS", "3")
	cfg, err = parseServe([]string{"--store", "esdb://127.0.0.1:2113?tls=false"}, io.Discard)
	if err != nil || cfg.role.value != roleWorker || cfg.core.workers != 3 {
		t.Errorf("from the environment: role %q, workers %d, %v; want worker, 3", cfg.role.value, cfg.core.workers, err)
	}
	if _, err := parseServe([]string{"--role", "all"}, io.Discard); err != nil {
		t.Errorf("--role all beats LIFESITUATIONS_ROLE on the embedded store: %v", err)
	}
	for _, args := range [][]string{{"--role", "saga"}, {"--role", "all", "--workers", "0"}, {"--role", "api", "--store", "esdb://x", "--nats-url", "nats://x"}} {
		if _, err := parseServe(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestServeWithWorkerGroupsDecides runs the whole server on the embedded
// store with 3 saga worker groups sharing 6 partitions.
func TestServeWithWorkerGroupsDecides(t *testing.T) {
	s := startServer(t, "--workers", "3", "--partitions", "6")
	t0 := time.Now().UTC()
	mother, child := personID(81), personID(82)
	send(t, s, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, s, civilStatus, born("workers-birth", child, mother, t0.Format("2006-01-02"), "770-2026-000081", t0))
	eventuallySteps(t, s, mother, 7)
}

// TestRolesOnTheEventStoreDBDouble splits the server into three in-process
// servers, --role ingest, --role worker and --role api, on one in-process
// DOUBLE of an EventStoreDB node (esdbdouble): a birth posted to the
// ingest process is decided by the worker process and read from the api
// process. It proves the roles' wiring and that separate store clients
// follow one log's positions on the double; it proves nothing about a real
// EventStoreDB. TestWorkerProcessesShareThePersonSpace splits the persons
// between several worker processes.
func TestRolesOnTheEventStoreDBDouble(t *testing.T) {
	double, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { double.Close() })
	ingest := startServer(t, "--store", double.URL(), "--role", "ingest")
	worker := startServer(t, "--store", double.URL(), "--role", "worker")
	api := startServer(t, "--store", double.URL(), "--role", "api")

	mother, child := personID(71), personID(72)
	if r := do(t, "GET", ingest.url+"/v1/me/situations", devToken(t, ingest, "citizen", mother), "", nil); r.status != 404 {
		t.Errorf("ingest serves /v1/me/situations: %d", r.status)
	}
	for _, s := range []*server{worker, api} {
		if r := do(t, "POST", s.url+"/v1/events", devToken(t, s, "registry", population), "application/cloudevents-batch+json", []byte("[]")); r.status != 404 && r.status != 405 {
			t.Errorf("%s serves POST /v1/events: %d", s.url, r.status)
		}
	}
	if r := do(t, "GET", worker.url+"/v1/me/situations", devToken(t, worker, "citizen", mother), "", nil); r.status != 404 {
		t.Errorf("worker serves /v1/me/situations: %d", r.status)
	}
	for _, s := range []*server{ingest, worker, api} {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := do(t, "GET", s.url+path, "", "", nil); r.status != 200 {
				t.Errorf("GET %s%s: %d", s.url, path, r.status)
			}
		}
	}

	t0 := time.Now().UTC()
	send(t, ingest, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, ingest, civilStatus, born("roles-birth", child, mother, t0.Format("2006-01-02"), "770-2026-000071", t0))
	eventuallySteps(t, api, mother, 7)
}

// eventuallySteps waits until the mother's birth-of-child situation, as s
// serves it, has want decided steps.
func eventuallySteps(t *testing.T, s *server, mother string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		decided, n := 0, 0
		for _, sit := range signIn(t, s, mother).situations() {
			if sit.Kind != "birth-of-child" {
				continue
			}
			n++
			for _, st := range sit.Steps {
				if st.Outcome != "" {
					decided++
				}
			}
		}
		if n == 1 && decided == want {
			return
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%s: %d birth-of-child situations with %d steps decided, want 1 with %d", mother, n, decided, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
