package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
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
