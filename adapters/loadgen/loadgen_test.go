package loadgen_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"lifesituations/adapters/loadgen"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// roundTrip is v as JSON would read it back, to compare bodies by content.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBodySendsTheEventsEventDescribes(t *testing.T) {
	cfg := loadgen.Config{RunID: "run", Batch: 3, Now: now}
	body, ctype := loadgen.Body(cfg, 10, 3)
	if ctype != "application/cloudevents-batch+json" {
		t.Fatalf("batch content type %q", ctype)
	}
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("batch body: %v", err)
	}
	want := roundTrip(t, []map[string]any{
		loadgen.Event("run", 10, now), loadgen.Event("run", 11, now), loadgen.Event("run", 12, now),
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batch body\n%s\nwant the events of Event\n%v", body, want)
	}

	cfg.Batch = 1
	body, ctype = loadgen.Body(cfg, 7, 1)
	if ctype != "application/cloudevents+json" {
		t.Fatalf("single content type %q", ctype)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("single body: %v", err)
	}
	if want := roundTrip(t, loadgen.Event("run", 7, now)); !reflect.DeepEqual(got, want) {
		t.Fatalf("single body\n%s\nwant\n%v", body, want)
	}
}

// TestRunSendsEveryEventOnceAndRetriesRefusals runs against a server that
// refuses the first request with 429 and counts what it accepts.
func TestRunSendsEveryEventOnceAndRetriesRefusals(t *testing.T) {
	var requests, events atomic.Int64
	ids := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/v1/events" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if requests.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var batch []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, e := range batch {
			ids <- e.ID
		}
		events.Add(int64(len(batch)))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Token: "tok", Events: 95, Batch: 10, Clients: 3, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("event %s sent twice", id)
		}
		seen[id] = true
	}
	if res.Events != 95 || events.Load() != 95 || len(seen) != 95 || res.Requests != 10 || res.Retries != 1 {
		t.Fatalf("result %+v, server counted %d events (%d distinct), want 95 events in 10 requests and 1 retry",
			res, events.Load(), len(seen))
	}
}

// BenchmarkBody500 is the generator's own cost for one batch of 500.
func BenchmarkBody500(b *testing.B) {
	cfg := loadgen.Config{RunID: "run", Batch: 500, Now: now}
	for i := 0; b.Loop(); i++ {
		loadgen.Body(cfg, i*500, 500)
	}
}
