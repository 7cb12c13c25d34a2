package brokeringest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/adapters/brokeringest"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/domain/clock"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/register"
)

// startSecuredNATS runs a nats-server of its own with
// testdata/nats-server.conf, the permissions doc.go describes, on a free
// loopback port, and returns its URL.
func startSecuredNATS(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			t.Skipf("SKIPPED: no nats-server binary to run testdata/nats-server.conf (%v)", err)
		}
		bin = "/usr/sbin/nats-server"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "-c", "testdata/nats-server.conf", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("nats-server output:\n%s", out.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return "nats://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not listening on %s after 10s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// registryConn connects as a registry's user, as production would, and
// records the permission violations the server reports.
type registryConn struct {
	nc         *nats.Conn
	js         nats.JetStreamContext
	mu         sync.Mutex
	violations []string
}

func connectRegistry(t *testing.T, url, name string) *registryConn {
	t.Helper()
	r := &registryConn{}
	nc, err := nats.Connect(url, nats.UserInfo(name, name+"-secret"), nats.CustomInboxPrefix("_INBOX_"+name),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.violations = append(r.violations, err.Error())
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(nc.Close)
	r.nc = nc
	if r.js, err = nc.JetStream(nats.MaxWait(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *registryConn) violated(what string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		if strings.Contains(strings.ToLower(v), "permissions violation") && strings.Contains(v, what) {
			return true
		}
	}
	return false
}

func TestRegistriesCanSendOnlyAsThemselvesUnderTheDocumentedPermissions(t *testing.T) {
	url := startSecuredNATS(t)
	store, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	sub, err := ingest.NewSubmitter(ingest.Config{Store: store, Register: register.NewIndex(), Clock: clock.NewManual(t0), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// The defaults of Config, as `lifesituations serve` runs them, with the
	// lifesituations user of the configuration.
	g, err := brokeringest.New(brokeringest.Config{
		URL: url, NatsOptions: []nats.Option{nats.UserInfo("lifesituations", "lifesituations-secret")},
		Submitter: sub, Clock: clock.NewManual(t0), Logger: quiet(), Registerer: reg,
	})
	if err != nil {
		t.Fatalf("lifesituations with its permissions: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() { cancel(); _ = g.Close(); <-done })
	select {
	case <-g.Running():
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not running after 10s")
	}

	population := connectRegistry(t, url, "population")
	civil := connectRegistry(t, url, "civil-status")
	publish := func(r *registryConn, subject string, v any) error {
		m := nats.NewMsg(subject)
		m.Data, _ = json.Marshal(v)
		m.Header.Set("Content-Type", "application/cloudevents+json")
		_, err := r.js.PublishMsg(m)
		return err
	}

	mother := uuid.New()
	if err := publish(population, "registries.population.events", personRegistered(mother, "1990-05-01")); err != nil {
		t.Fatalf("population on its own subject: %v", err)
	}
	// The population register cannot publish on civil-status's subject:
	// the broker refuses it (no acknowledgement comes), and nothing is stored.
	forbidden := nats.NewMsg("registries.civil-status.events")
	forbidden.Data = mustJSON(birthRegistered(uuid.New(), mother, "2026-02-10"))
	if _, err := population.js.PublishMsg(forbidden, nats.AckWait(300*time.Millisecond)); err == nil {
		t.Fatal("population published on registries.civil-status.events")
	}
	// Nor read lifesituations' deliveries.
	if _, err := population.nc.SubscribeSync("_INBOX_lifesituations.>"); err != nil {
		t.Fatal(err)
	}
	// civil-status, on its own subject but claiming the population's source:
	// the orchestrator's check, dead-lettered with lifesituations' rights.
	if err := publish(civil, "registries.civil-status.events", personRegistered(uuid.New(), "1990-05-01")); err != nil {
		t.Fatalf("civil-status on its own subject: %v", err)
	}
	child := uuid.New()
	if err := publish(civil, "registries.civil-status.events", birthRegistered(child, mother, "2026-02-10")); err != nil {
		t.Fatalf("civil-status on its own subject: %v", err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := store.LastPosition(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pos == 2 && metricValue(t, reg, "dead_lettered") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d events stored, %v dead letters; want 2 and 1", pos, metricValue(t, reg, "dead_lettered"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if events, err := store.ReadStream(context.Background(), lifeevent.PersonStream(child), 0, 0, 10); err != nil || len(events) != 1 {
		t.Fatalf("child's stream: %d events, %v", len(events), err)
	}
	for what, r := range map[string]*registryConn{
		`Publish to "registries.civil-status.events"`: population,
		`Subscription to "_INBOX_lifesituations.>"`:   population,
	} {
		deadline := time.Now().Add(5 * time.Second)
		for !r.violated(what) {
			if time.Now().After(deadline) {
				t.Fatalf("no permissions violation for %s: %q", what, r.violations)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != "lifesituations_broker_ingest_messages_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
