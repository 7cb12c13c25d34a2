package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// TestRegistriesOverNATS runs the server with the broker path on the
// machine's NATS and has registries publish instead of POSTing: a birth
// published on the civil-status subject opens the mother's bundle.
func TestRegistriesOverNATS(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second)
	if err != nil {
		t.Skipf("SKIPPED: no NATS server at 127.0.0.1:4222 (%v); .ci/run starts one", err)
	}
	_ = c.Close()
	id := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	subject, stream := "lsserve"+id+".*.events", "LSSERVE"+strings.ToUpper(id)
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-10T09:00:00Z",
		"--nats-url", "nats://127.0.0.1:4222", "--nats-subject", subject, "--nats-stream", stream,
		"--nats-dead-letter", "lsserve"+id+".*.dead-letter", "--nats-dead-letter-stream", stream+"DL",
		"--nats-durable", "lsserve"+id)

	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(stream); _ = js.DeleteStream(stream + "DL") })
	publish := func(registry string, ev map[string]any) {
		t.Helper()
		b, _ := json.Marshal(ev)
		m := nats.NewMsg(strings.Replace(subject, "*", registry, 1))
		m.Data = b
		m.Header.Set("Content-Type", "application/cloudevents+json")
		// The server creates the stream once it runs; wait for it.
		for i := 0; ; i++ {
			if _, err := js.PublishMsg(m); err == nil {
				return
			} else if i == 100 {
				t.Fatalf("publish on %s: %v", m.Subject, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	mother, child := personID(41), personID(42)
	publish("population", registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	publish("civil-status", born("nats-birth-1", child, mother, "2026-03-05", "770-2026-000041", t0))

	// The sagas open the bundle as soon as the birth is stored.
	maria := signIn(t, s, mother)
	deadline := time.Now().Add(20 * time.Second)
	for len(maria.situations()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the birth published on NATS never opened a situation")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Published again, it is a duplicate to HTTP ingest as well.
	if got := send(t, s, civilStatus, born("nats-birth-1", child, mother, "2026-03-05", "770-2026-000041", t0)); got["duplicates"] != 1.0 {
		t.Errorf("the birth sent over HTTP after NATS: %v", got)
	}
	steps := signIn(t, s, mother).stepsOf("birth-of-child")
	if len(steps) != 7 || steps["birth-certificate"].Outcome != "granted" {
		t.Errorf("the mother's bundle from a birth over NATS: %+v", steps)
	}
}
