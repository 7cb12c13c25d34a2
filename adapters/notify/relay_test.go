package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/notify"
	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	mother = "6f1c3c1e-0000-4000-8000-000000000001"
	child  = "6f1c3c1e-0000-4000-8000-0000000000c1"
)

// gateway is a fake notification gateway: answer decides each request's
// status (and headers); it keeps every request it got.
type gateway struct {
	*httptest.Server
	mu       sync.Mutex
	got      []request
	answer   func(n int, r *http.Request, w http.ResponseWriter) int
	received chan struct{}
}

type request struct {
	at      time.Time
	key     string
	topic   string
	status  int
	message notify.Message
}

func newGateway(t *testing.T, answer func(n int, r *http.Request, w http.ResponseWriter) int) *gateway {
	g := &gateway{answer: answer, received: make(chan struct{}, 1000)}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body is not a notification: %v: %s", err, body)
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s with %s", r.Method, r.Header.Get("Content-Type"))
		}
		g.mu.Lock()
		n := len(g.got)
		status := http.StatusOK
		if g.answer != nil {
			status = g.answer(n, r, w)
		}
		g.got = append(g.got, request{at: time.Now(), key: r.Header.Get("Idempotency-Key"),
			topic: r.Header.Get("X-Lifesituations-Topic"), status: status, message: m})
		g.mu.Unlock()
		w.WriteHeader(status)
		g.received <- struct{}{}
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) requests() []request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]request(nil), g.got...)
}

// delivered are the ids the gateway accepted, once each.
func (g *gateway) delivered() map[string]notify.Message {
	out := map[string]notify.Message{}
	for _, r := range g.requests() {
		if r.status < 300 {
			out[r.key] = r.message
		}
	}
	return out
}

// waitFor waits until the gateway accepted n notifications.
func (g *gateway) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(g.delivered()) < n {
		select {
		case <-g.received:
		case <-deadline:
			t.Fatalf("the gateway got %d notifications, want %d: %+v", len(g.delivered()), n, g.requests())
		}
	}
}

type fixture struct {
	t           *testing.T
	store       eventstore.Store
	checkpoints *watermillstore.MemoryCheckpoints
}

func newFixture(t *testing.T) *fixture {
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &fixture{t: t, store: store, checkpoints: watermillstore.NewMemoryCheckpoints()}
}

// run starts a relay to the gateway until the returned stop is called.
func (f *fixture) run(g *gateway, reg prometheus.Registerer) (stop func()) {
	f.t.Helper()
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: g.URL + "/hook"})
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := notify.New(notify.Config{Store: f.store, Checkpoints: f.checkpoints, Publisher: hook, Topic: "sms",
		Retry: notify.Retry{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}, Metrics: reg})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			f.t.Errorf("run: %v", err)
		}
	})
	<-r.Running()
	stop = sync.OnceFunc(func() { cancel(); wg.Wait(); _ = hook.Close() })
	f.t.Cleanup(stop)
	return stop
}

// birth opens a situation with a grant and a draft for the mother: two
// notifications.
func (f *fixture) birth() uuid.UUID {
	f.t.Helper()
	id := situation.ID("birth-of-child", uuid.New())
	steps := []catalogue.StepDecision{
		{Key: "birth-certificate", Service: "birth-certificate", Outcome: catalogue.OutcomeGranted, Registry: "civil-status",
			Title: catalogue.Text{RU: "Свидетельство", EN: "Certificate"}, Applicant: mother, Beneficiary: child},
		{Key: "child-allowance", Service: "child-allowance", Outcome: catalogue.OutcomeDrafted, Deadline: "2026-08-28",
			Title: catalogue.Text{RU: "Пособие", EN: "Allowance"}, Applicant: mother, Beneficiary: child},
	}
	o := situation.Opened{SituationID: id, Kind: "birth-of-child", PersonID: mother, Participants: []string{mother, child},
		Facts: map[string]catalogue.Person{child: {ID: child, BirthDate: "2026-02-25"}}, OpenedAt: start}
	f.append(id, eventstore.NoStream, situation.Open(o, steps, start))
	return id
}

func (f *fixture) append(id uuid.UUID, expected eventstore.ExpectedRevision, recs []situation.Record) {
	f.t.Helper()
	var evs []eventstore.Event
	for _, r := range recs {
		data, err := r.Payload()
		if err != nil {
			f.t.Fatal(err)
		}
		evs = append(evs, eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data})
	}
	if _, err := f.store.Append(context.Background(), situation.Stream(id), expected, evs...); err != nil {
		f.t.Fatal(err)
	}
}

func TestSendsEveryNotificationWithItsID(t *testing.T) {
	f := newFixture(t)
	g := newGateway(t, nil)
	reg := prometheus.NewRegistry()
	f.run(g, reg)
	id := f.birth()
	g.waitFor(t, 2)
	f.append(id, eventstore.Exact(2), []situation.Record{{ID: situation.EventID(id, "confirmed"), Type: situation.TypeDraftConfirmed,
		Data: situation.DraftConfirmed{SituationID: id, DraftID: situation.StepID(id, "child-allowance"), By: mother, At: start}}})
	g.waitFor(t, 3)

	for key, m := range g.delivered() {
		if key != m.ID.String() {
			t.Errorf("Idempotency-Key %s, body id %s", key, m.ID)
		}
		if len(m.To) != 1 || m.To[0] != mother || m.Situation != id || m.Text.EN == "" || m.Text.RU == "" {
			t.Errorf("notification %+v", m)
		}
	}
	for _, r := range g.requests() {
		if r.topic != "sms" {
			t.Errorf("topic header %q, want sms", r.topic)
		}
	}
	// The count moves once the gateway has answered.
	for deadline := time.Now().Add(5 * time.Second); metricValue(t, reg, "lifesituations_notify_published_total") < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("published_total = %v, want 3", metricValue(t, reg, "lifesituations_notify_published_total"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRetriesAFailingGatewayHonouringRetryAfter(t *testing.T) {
	f := newFixture(t)
	// 503 with Retry-After: 1 at first, then 503 without it, then 200.
	g := newGateway(t, func(n int, _ *http.Request, w http.ResponseWriter) int {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			return http.StatusServiceUnavailable
		case 1:
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	f.run(g, nil)
	f.birth()
	g.waitFor(t, 2)
	got := g.requests()
	if len(got) < 4 || got[0].status != 503 || got[1].status != 503 || got[2].status != 200 {
		t.Fatalf("requests: %+v", got)
	}
	if got[0].key != got[1].key || got[1].key != got[2].key {
		t.Errorf("the retries are not of the same notification: %s, %s, %s", got[0].key, got[1].key, got[2].key)
	}
	if wait := got[1].at.Sub(got[0].at); wait < time.Second {
		t.Errorf("retried %s after a Retry-After of 1 s", wait)
	}
	if wait := got[2].at.Sub(got[1].at); wait > 900*time.Millisecond {
		t.Errorf("without Retry-After the backoff (20 ms, doubling) waited %s", wait)
	}
}

func TestRecordsARefusedNotificationAndGoesOn(t *testing.T) {
	f := newFixture(t)
	g := newGateway(t, func(n int, _ *http.Request, _ http.ResponseWriter) int {
		if n == 0 {
			return http.StatusUnprocessableEntity
		}
		return http.StatusOK
	})
	reg := prometheus.NewRegistry()
	f.run(g, reg)
	f.birth()
	g.waitFor(t, 1)
	time.Sleep(100 * time.Millisecond) // no retry of the refused one comes
	if got := metricValue(t, reg, "lifesituations_notify_rejected_total"); got != 1 {
		t.Errorf("rejected_total = %v", got)
	}
	got := g.requests()
	if len(got) != 2 || got[0].key == got[1].key {
		t.Fatalf("requests: %+v", got)
	}
	dead, err := f.store.ReadStream(context.Background(), sagarouter.DeadLetterStream, 0, eventstore.Forwards, 10)
	if err != nil || len(dead) != 1 || dead[0].Type != notify.DeadLetterType {
		t.Fatalf("dead letters: %+v, %v", dead, err)
	}
	var m notify.Message
	if err := json.Unmarshal(dead[0].Data, &m); err != nil || m.ID.String() != got[0].key {
		t.Errorf("dead letter %s: %v", dead[0].Data, err)
	}
}

func TestResumesAfterARestartAndSkipsTheHistoryAtFirst(t *testing.T) {
	f := newFixture(t)
	before := f.birth() // before the relay ever ran: not sent
	g := newGateway(t, nil)
	stop := f.run(g, nil)
	during := f.birth()
	g.waitFor(t, 2)
	stop()
	stopped := f.birth() // while stopped: sent once it runs again
	f.run(g, nil)
	g.waitFor(t, 4)
	time.Sleep(100 * time.Millisecond)
	// A notification in flight at the stop may come twice (at least once);
	// the gateway drops the repeat by its id.
	per := map[uuid.UUID]int{}
	for _, m := range g.delivered() {
		per[m.Situation]++
	}
	if per[before] != 0 || per[during] != 2 || per[stopped] != 2 {
		t.Errorf("notifications by situation: before the first run %d, during it %d, while stopped %d; want 0, 2, 2",
			per[before], per[during], per[stopped])
	}
}

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	g := newGateway(t, func(n int, _ *http.Request, w http.ResponseWriter) int {
		if n == 0 {
			w.Header().Set("Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.Itoa(7200))
		}
		return http.StatusTooManyRequests
	})
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: g.URL, MaxRetryAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{3 * time.Second, time.Hour} {
		err := hook.Publish("t", messageOf("m"))
		de, ok := err.(*notify.DeliveryError)
		if !ok || de.Rejected() || de.Status != 429 || de.RetryAfter < want-2*time.Second || de.RetryAfter > want {
			t.Errorf("answer %d: %#v, want a retry after about %s", i, err, want)
		}
	}
	if _, err := notify.NewWebhook(notify.WebhookConfig{URL: "ftp://x"}); err == nil {
		t.Error("an ftp URL is accepted")
	}
}

func messageOf(id string) *message.Message { return message.NewMessage(id, []byte(`{}`)) }

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
