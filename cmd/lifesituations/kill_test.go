package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/loadgen"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// TestKilledServerLosesNoAcknowledgedEvent kills a server process with
// SIGKILL in the middle of a load and reads its store back: every event it
// answered 202 for must be there.
func TestKilledServerLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child server process; skipped with -short")
	}
	data := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "LIFESITUATIONS_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + waitListening(t, stdout)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	client := &http.Client{Timeout: 30 * time.Second}
	token, err := loadgen.DevToken(context.Background(), client, url, "registry", loadgen.PopulationSource)
	if err != nil {
		t.Fatal(err)
	}

	// Clients send batches until the server dies; each remembers the
	// batches it got a 202 for.
	const batch, clients, killAfter = 20, 16, 150
	cfg := loadgen.Config{Batch: batch, RunID: "kill", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var next, acked atomic.Int64
	var mu sync.Mutex
	var ackedBatches []int
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i > 100_000 {
					return
				}
				body, ctype := loadgen.Body(cfg, i*batch, batch)
				req, _ := http.NewRequest("POST", url+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					select {
					case <-killed:
						return // the server is gone: expected
					default:
						t.Errorf("request failed before the kill: %v", err)
						return
					}
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					ackedBatches = append(ackedBatches, i)
					mu.Unlock()
					if acked.Add(1) == killAfter {
						once.Do(func() {
							_ = cmd.Process.Signal(syscall.SIGKILL)
							close(killed)
						})
					}
				}
			}
		}()
	}
	wg.Wait()
	_ = cmd.Wait()
	if acked.Load() < killAfter {
		t.Fatalf("only %d batches acknowledged before the load ended", acked.Load())
	}

	store, err := embedded.Open(data)
	if err != nil {
		t.Fatalf("reopen the store after SIGKILL: %v", err)
	}
	defer store.Close()
	stored := map[string]bool{}
	var after eventstore.Position
	for {
		evs, err := store.ReadAll(context.Background(), after, eventstore.Filter{}, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			stored[e.ID.String()] = true
			after = e.Position
		}
	}
	mu.Lock()
	defer mu.Unlock()
	missing := 0
	for _, b := range ackedBatches {
		for k := range batch {
			ev := loadgen.Event(cfg.RunID, b*batch+k, cfg.Now)
			id := lifeevent.EventID(ev["source"].(string), ev["id"].(string))
			if !stored[id.String()] {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged events missing after SIGKILL (of %d acknowledged)", missing, len(ackedBatches)*batch)
	}
	t.Logf("%d batches (%d events) acknowledged before SIGKILL, all stored; %d events stored in all", len(ackedBatches), len(ackedBatches)*batch, len(stored))
}

// TestKilledBetweenDecisionAndProjection kills the server right after a
// saga's decision is durable, before the cabinet (and the saga's
// checkpoint) have caught up. After a restart the mother's cabinet shows
// the whole bundle once: nothing lost, nothing granted twice.
func TestKilledBetweenDecisionAndProjection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child server process; skipped with -short")
	}
	data := t.TempDir()
	start := "2026-03-10T09:00:00Z"
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", data, "--clock", "manual", "--clock-start", start)
	cmd.Env = append(os.Environ(), "LIFESITUATIONS_TEST_MAIN=1", faultKillAfterAppend+"=situation-")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	child := &server{url: "http://" + waitListening(t, stdout), data: data}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	t0, _ := time.Parse(time.RFC3339, start)
	mother, kid := personID(31), personID(32)
	send(t, child, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW",
		"Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	// The birth is stored and the saga decides; the process dies on the
	// decision's append, maybe before it has even answered this request.
	body, _ := json.Marshal([]map[string]any{born("birth-k", kid, mother, "2026-03-05", "770-2026-000031", t0)})
	req, _ := http.NewRequest("POST", child.url+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+devToken(t, child, "registry", civilStatus))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the server should have killed itself after the decision, it ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not reach the decision")
	}

	s := restart(t, &server{data: data}, "--clock", "manual")
	maria := signIn(t, s, mother)
	wantOutcomes(t, maria.stepsOf("birth-of-child"), map[string]string{
		"birth-certificate": "granted", "child-snils": "granted", "maternity-capital": "granted",
		"child-allowance": "drafted", "child-health-insurance": "drafted", "residence-registration": "drafted",
		"kindergarten-queue": "granted",
	})
	if g := maria.grants(); len(g) != 4 {
		t.Errorf("after the crash: %d grants, want 4: %+v", len(g), g)
	}
	if d := maria.drafts(); len(d) != 3 {
		t.Errorf("after the crash: %d drafts, want 3", len(d))
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// The log holds the situation and each decision once.
	store, err := embedded.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	evs, err := store.ReadAll(context.Background(), 0, eventstore.Filter{StreamPrefixes: []string{"situation-"}}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Type]++
	}
	if counts["situation.opened"] != 1 || counts["situation.step_decided"] != 7 {
		t.Errorf("situation events after the crash: %v, want 1 opened and 7 steps decided", counts)
	}
	// Both runs published the catalogue they decided with: stored once.
	cats, err := store.ReadStream(context.Background(), CatalogueStream, 0, eventstore.Forwards, 10)
	if err != nil || len(cats) != 1 || cats[0].Type != "catalogue.published" || !strings.Contains(string(cats[0].Data), `"hash"`) {
		t.Errorf("catalogue stream: %v %+v", err, cats)
	}
}
