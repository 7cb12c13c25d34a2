package brokeringest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/loadgen"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
)

// The registry path through NATS JetStream against POST /v1/events, in one
// run on this machine, each into its own fresh durable embedded store with
// the same core (register index, metrics) and the same events (the
// person.registered events of adapters/loadgen):
//
//	go test -run '^$' -bench . -benchtime 20000x ./adapters/brokeringest
//
// One op is one event. Reported:
//   - http-events/s: loadgen's clients posting to the handler on loopback,
//     each waiting for its 202 (durably stored);
//   - nats-events/s: a registry publishing to JetStream (async, with the
//     broker's acknowledgements) while the broker path consumes, from the
//     first publish to the last event stored;
//   - backlog-events/s: the same messages already waiting in the stream (a
//     registry's backlog after an outage), from the consumer's start to the
//     last event stored;
//   - nats/http and backlog/http: the ratios.
//
// concurrency is HTTP clients on one side and Config.Concurrency on the
// other; batch is events per request and per message.

func BenchmarkNATSvsHTTP(b *testing.B) {
	for _, c := range []struct{ batch, concurrency int }{
		{1, 1},   // single events, in order: Config's default
		{1, 64},  // single events, many at once
		{500, 4}, // atomic batches
	} {
		b.Run(fmt.Sprintf("batch=%d/concurrency=%d", c.batch, c.concurrency), func(b *testing.B) {
			requireNATS(b)
			events := b.N
			httpRate := benchHTTP(b, events, c.batch, c.concurrency)
			natsRate := benchNATS(b, events, c.batch, c.concurrency, false)
			backlogRate := benchNATS(b, events, c.batch, c.concurrency, true)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(httpRate, "http-events/s")
			b.ReportMetric(natsRate, "nats-events/s")
			b.ReportMetric(backlogRate, "backlog-events/s")
			b.ReportMetric(natsRate/httpRate, "nats/http")
			b.ReportMetric(backlogRate/httpRate, "backlog/http")
		})
	}
}

// benchHTTP posts the events and returns events/s.
func benchHTTP(b *testing.B, events, batch, clients int) float64 {
	f := newFixture(b, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal := auth.Principal{Role: auth.RoleRegistry, Subject: lifeevent.SourcePopulation}
		f.http.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), principal)))
	}))
	defer srv.Close()
	cfg := loadgen.Config{
		URL: srv.URL, Token: "unused", Events: events, Batch: batch, Clients: clients, RunID: uuid.NewString(),
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}},
	}
	defer cfg.Client.CloseIdleConnections()
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if res.Events != events || f.lastPosition() != eventstore.Position(events) {
		b.Fatalf("%d events accepted, %d stored, want %d", res.Events, f.lastPosition(), events)
	}
	return res.Rate()
}

// benchNATS publishes the events in messages of batch events and returns
// events/s until the last is stored: publishing as the consumer runs, or
// with every message published before it starts (backlog).
func benchNATS(b *testing.B, events, batch, concurrency int, backlog bool) float64 {
	f := newFixture(b, nil)
	opts := func(c *brokeringest.Config) {
		c.Concurrency = concurrency
		c.Registerer = nil
	}
	f.provision(opts)
	cfg := loadgen.Config{Events: events, Batch: batch, RunID: uuid.NewString(), Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	subject := f.names.subjectOf("population")
	published := make(chan error, 1)
	publish := func() error {
		js, err := f.nc.JetStream(nats.PublishAsyncMaxPending(1024))
		if err != nil {
			return err
		}
		for from := 0; from < events; from += batch {
			body, ctype := loadgen.Body(cfg, from, min(batch, events-from))
			m := nats.NewMsg(subject)
			m.Data = body
			m.Header.Set("Content-Type", ctype)
			if _, err := js.PublishMsgAsync(m); err != nil {
				return err
			}
		}
		select {
		case <-js.PublishAsyncComplete():
			return nil
		case <-time.After(time.Minute):
			return fmt.Errorf("publishing not acknowledged after a minute")
		}
	}
	var start time.Time
	if backlog {
		if err := publish(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		f.start(opts)
	} else {
		f.start(opts)
		start = time.Now()
		go func() { published <- publish() }()
	}
	deadline := time.Now().Add(5 * time.Minute)
	for f.lastPosition() < eventstore.Position(events) {
		select {
		case err := <-published:
			if err != nil {
				b.Fatal(err)
			}
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events stored after 5 minutes", f.lastPosition(), events)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	f.stop()
	if n := len(f.deadLetters()); n != 0 {
		b.Fatalf("%d dead letters", n)
	}
	return float64(events) / elapsed.Seconds()
}
