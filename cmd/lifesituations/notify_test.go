package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGateway is an email/SMS/push gateway's webhook: it answers 503 to
// its first failures requests (the first with Retry-After: 1), then 200,
// and keeps what it accepted by Idempotency-Key.
type fakeGateway struct {
	*httptest.Server
	mu       sync.Mutex
	failures int
	calls    []gatewayCall
	accepted map[string]gatewayMessage
}

type gatewayCall struct {
	at     time.Time
	key    string
	status int
}

type gatewayMessage struct {
	ID         string            `json:"id"`
	Recipients []string          `json:"recipients"`
	Service    string            `json:"service"`
	Outcome    string            `json:"outcome"`
	Kind       string            `json:"kind"`
	Text       map[string]string `json:"text"`
}

func newFakeGateway(t *testing.T, failures int) *fakeGateway {
	g := &fakeGateway{failures: failures, accepted: map[string]gatewayMessage{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		defer g.mu.Unlock()
		call := gatewayCall{at: time.Now(), key: r.Header.Get("Idempotency-Key"), status: http.StatusOK}
		if len(g.calls) < g.failures {
			call.status = http.StatusServiceUnavailable
			if len(g.calls) == 0 {
				w.Header().Set("Retry-After", "1")
			}
		} else {
			var m gatewayMessage
			if err := json.Unmarshal(body, &m); err != nil || m.ID != call.key {
				t.Errorf("message %s with Idempotency-Key %s: %v", body, call.key, err)
			}
			g.accepted[m.ID] = m
		}
		g.calls = append(g.calls, call)
		w.WriteHeader(call.status)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *fakeGateway) snapshot() ([]gatewayCall, map[string]gatewayMessage) {
	g.mu.Lock()
	defer g.mu.Unlock()
	accepted := make(map[string]gatewayMessage, len(g.accepted))
	for k, v := range g.accepted {
		accepted[k] = v
	}
	return slices.Clone(g.calls), accepted
}

// notificationIDs are a citizen's notifications as the cabinet lists them.
func notificationIDs(c citizen) map[string]string {
	var out struct {
		Items []struct {
			ID      string `json:"id"`
			Service string `json:"service"`
			Outcome string `json:"outcome"`
		} `json:"items"`
	}
	c.get("/v1/me/notifications", &out)
	ids := map[string]string{}
	for _, n := range out.Items {
		ids[n.ID] = n.Service + " " + n.Outcome
	}
	return ids
}

// waitDelivered waits until the gateway has accepted every notification
// of want.
func waitDelivered(t *testing.T, g *fakeGateway, want map[string]string) map[string]gatewayMessage {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a guard against a hang, not a measurement
	for {
		_, accepted := g.snapshot()
		missing := 0
		for id := range want {
			if _, ok := accepted[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return accepted
		}
		if time.Now().After(deadline) {
			calls, _ := g.snapshot()
			t.Fatalf("the gateway lacks %d of the %d notifications after 10 s; calls %+v", missing, len(want), calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNotificationsGoOutToTheGateway: every notification of a birth
// reaches the gateway's webhook at least once, with the cabinet's id, even
// though the gateway fails twice at first.
func TestNotificationsGoOutToTheGateway(t *testing.T) {
	g := newFakeGateway(t, 2)
	t.Setenv("LIFESITUATIONS_NOTIFY_WEBHOOK", g.URL+"/notifications")
	t.Setenv("LIFESITUATIONS_NOTIFY_RETRY_INITIAL", "20ms")
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-01T00:00:00Z", "--agency-delay", "24h")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	mother, child := personID(51), personID(52)
	send(t, s, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, s, civilStatus, born("birth-51", child, mother, "2026-03-05", "770-2026-000051", t0))
	setClock(t, s, t0.Add(time.Minute))

	maria := signIn(t, s, mother)
	first := notificationIDs(maria)
	if len(first) != 7 {
		t.Fatalf("the cabinet shows %d notifications, want one per step: %v", len(first), first)
	}
	waitDelivered(t, g, first)

	// The rest of the birth: a confirmation, the agency's grant a day later.
	ins := maria.draftOf("child-health-insurance")
	if r := maria.call("POST", "/v1/me/drafts/"+ins.ID+"/confirm", map[string]any{"fields": map[string]any{"insurer": "АО «СОГАЗ-Мед»"}}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	setClock(t, s, t0.Add(25*time.Hour))
	all := notificationIDs(maria)
	if len(all) != 9 {
		t.Fatalf("the cabinet shows %d notifications, want 9: %v", len(all), all)
	}
	accepted := waitDelivered(t, g, all)

	for id, what := range all {
		m := accepted[id]
		if !slices.Equal(m.Recipients, []string{mother}) || m.Text["ru"] == "" || m.Text["en"] == "" || m.Service+" "+m.Outcome != what {
			t.Errorf("notification %s (%s) reached the gateway as %+v", id, what, m)
		}
	}
	// Only what the cabinet shows (the newborn is told nothing).
	for id, m := range accepted {
		if _, ok := all[id]; !ok {
			t.Errorf("the gateway got %s, which no cabinet shows: %+v", id, m)
		}
	}
	calls, _ := g.snapshot()
	if len(calls) < 3 || calls[0].status != 503 || calls[1].status != 503 || calls[2].status != 200 ||
		calls[0].key != calls[1].key || calls[1].key != calls[2].key {
		t.Fatalf("calls: %+v", calls[:min(len(calls), 3)])
	}
	if wait := calls[1].at.Sub(calls[0].at); wait < time.Second {
		t.Errorf("the second attempt came %s after a 503 with Retry-After: 1", wait)
	}

	m := string(do(t, "GET", s.url+"/metrics", "", "", nil).body)
	for _, want := range []string{"lifesituations_notify_published_total", "lifesituations_notify_failures_total 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	t.Run("the Grafana dashboard plots metrics the server exports", func(t *testing.T) {
		// A rating and a refused event, so that every series the dashboard
		// reads exists.
		if r := maria.call("POST", "/v1/me/situations/"+maria.situations()[0].ID+"/rating", map[string]any{"score": 5}); r.status != 200 {
			t.Fatalf("rate: %d %s", r.status, r.body)
		}
		bad, _ := json.Marshal(cloudEvent(population, "bad-1", "person.registered", mother, t0, map[string]any{"person_id": mother}))
		if r := do(t, "POST", s.url+"/v1/events", devToken(t, s, "registry", population), "application/cloudevents+json", bad); r.status != 400 {
			t.Fatalf("a bad event: %d %s", r.status, r.body)
		}
		raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("docs/grafana-dashboard.json: %v", err)
		}
		m := string(do(t, "GET", s.url+"/metrics", "", "", nil).body)
		names := regexp.MustCompile(`lifesituations_[a-z0-9_]+`)
		seen := map[string]bool{}
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				for _, name := range names.FindAllString(tg.Expr, -1) {
					seen[name] = true
					if !strings.Contains(m, "\n"+name+"{") && !strings.Contains(m, "\n"+name+" ") {
						t.Errorf("panel %q plots %s, which /metrics does not export", p.Title, name)
					}
				}
			}
		}
		for _, prefix := range []string{"lifesituations_quality_", "lifesituations_ingest_", "lifesituations_saga_", "lifesituations_notify_", "lifesituations_store_", "lifesituations_readmodel_"} {
			found := false
			for name := range seen {
				found = found || strings.HasPrefix(name, prefix)
			}
			if !found {
				t.Errorf("the dashboard plots no %s* metric", prefix)
			}
		}
	})
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
