package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/eventstore/esdb"
	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/domain/situation"
)

// esdbUnderTest is the EventStoreDB the multi-process tests run on: the
// real server named by LIFESITUATIONS_ESDB_URL, or else an in-process
// DOUBLE (esdbdouble), which the test says plainly; the double is returned
// for the checks only it can answer.
func esdbUnderTest(t *testing.T) (string, *esdbdouble.Double) {
	t.Helper()
	if url := os.Getenv("LIFESITUATIONS_ESDB_URL"); url != "" {
		t.Logf("running against the real EventStoreDB at LIFESITUATIONS_ESDB_URL")
		return url, nil
	}
	d, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	t.Logf("LIFESITUATIONS_ESDB_URL is not set: running on the in-process EventStoreDB DOUBLE (esdbdouble), not a real server")
	return d.URL(), d
}

// TestWorkerProcessesShareThePersonSpace runs --role ingest, two --role
// worker processes (2 consumers each) and --role api on one EventStoreDB
// (the double unless LIFESITUATIONS_ESDB_URL is set), posts births of
// many mothers to the ingest process, and stops one worker while they
// are being decided. The server's persistent subscription (Pinned) splits
// the persons between the workers and hands the stopped one's to the
// others. Afterwards every birth has exactly one birth-of-child situation
// with each of its 7 steps decided exactly once, counted in the log; the
// api process serves them; and each worker's
// lifesituations_saga_shared_triggers_handled_total shows it handled some
// of the births and not all.
func TestWorkerProcessesShareThePersonSpace(t *testing.T) {
	const births, batch, workerCount, consumers = 60, 10, 2, 2
	url, double := esdbUnderTest(t)
	ingest := startServer(t, "--store", url, "--role", "ingest")
	var workers []*server
	for range workerCount {
		workers = append(workers, startServer(t, "--store", url, "--role", "worker", "--partitions", strconv.Itoa(consumers)))
	}
	api := startServer(t, "--store", url, "--role", "api")
	if double != nil {
		waitFor(t, "every consumer to join the group", func() bool { return double.PersistentConsumers(sharedGroup) == workerCount*consumers })
	}

	t0 := time.Now().UTC()
	mothers := make([]string, births)
	var regs []map[string]any
	for i := range mothers {
		mothers[i] = uuid.NewString()
		regs = append(regs, registered(mothers[i], "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	}
	send(t, ingest, population, regs...)
	situations := make([]uuid.UUID, births)
	const stopped = 1
	var stoppedHandled float64
	for i := 0; i < births; i += batch {
		var evs []map[string]any
		for j := i; j < i+batch; j++ {
			id := "shared-birth-" + mothers[j]
			evs = append(evs, born(id, uuid.NewString(), mothers[j], t0.Format(time.DateOnly), fmt.Sprintf("770-2026-%06d", j), t0))
			situations[j] = situation.ID("birth-of-child", lifeevent.EventID(civilStatus, id))
		}
		send(t, ingest, civilStatus, evs...)
		if i == births/3 {
			// Mid-load: once the worker has decided some, stop it.
			waitFor(t, "the worker to handle births", func() bool { return sharedHandled(t, workers[stopped]) > 0 })
			stoppedHandled = sharedHandled(t, workers[stopped])
			if err := workers[stopped].stop(); err != nil {
				t.Fatalf("stopping worker %d: %v", stopped, err)
			}
			if double != nil {
				waitFor(t, "the stopped worker's consumers to leave", func() bool { return double.PersistentConsumers(sharedGroup) == (workerCount-1)*consumers })
			}
		}
	}

	store, err := esdb.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	// Every situation decided: opened once, each step decided once.
	var last string
	deadline := time.Now().Add(90 * time.Second)
	for {
		problems := 0
		for i, id := range situations {
			if p := situationProblem(t, store, id); p != "" {
				problems++
				last = fmt.Sprintf("birth %d: %s", i, p)
			}
		}
		if problems == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d births not decided exactly once after 90s; e.g. %s", problems, births, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Late redeliveries must not add anything: look again once quiet.
	time.Sleep(500 * time.Millisecond)
	for i, id := range situations {
		if p := situationProblem(t, store, id); p != "" {
			t.Errorf("birth %d, later: %s", i, p)
		}
	}

	handled := make([]float64, workerCount)
	handled[stopped] = stoppedHandled
	for i, w := range workers {
		if i != stopped {
			handled[i] = sharedHandled(t, w)
		}
	}
	t.Logf("triggers handled per worker (worker %d stopped mid-load): %v", stopped, handled)
	// Births are the only triggers here: a worker that handled them all
	// (as each did before the split) reaches births.
	for i, h := range handled {
		if h == 0 || h >= births {
			t.Errorf("worker %d handled %v of the %d births: the persons were not split", i, h, births)
		}
	}
	for i := 0; i < births; i += 15 {
		eventuallySteps(t, api, mothers[i], 7)
	}
	// A worker serves no citizen: it keeps no cabinet, the api process does.
	for i, w := range workers {
		if _, err := os.Stat(filepath.Join(w.data, cabinetFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("worker %d has a %s (%v): a worker folds no cabinet", i, cabinetFile, err)
		}
	}
	if _, err := os.Stat(filepath.Join(api.data, cabinetFile)); err != nil {
		t.Errorf("the api process has no cabinet: %v", err)
	}
}

// situationProblem tells what is wrong with a birth's situation in the
// log: not opened, or not exactly its 7 steps decided once each; "" when
// nothing.
func situationProblem(t *testing.T, store eventstore.Store, id uuid.UUID) string {
	t.Helper()
	evs, err := store.ReadStream(t.Context(), situation.Stream(id), 0, eventstore.Forwards, 1000)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return "no situation"
	}
	if err != nil {
		t.Fatal(err)
	}
	opened, steps := 0, map[uuid.UUID]int{}
	for _, ev := range evs {
		switch ev.Type {
		case situation.TypeOpened:
			opened++
		case situation.TypeStepDecided:
			var d situation.StepDecided
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			steps[d.StepID]++
		}
	}
	if opened != 1 || len(steps) != 7 {
		return fmt.Sprintf("opened %d times, %d steps decided", opened, len(steps))
	}
	for step, n := range steps {
		if n != 1 {
			return fmt.Sprintf("step %s decided %d times", step, n)
		}
	}
	return ""
}

// sharedHandled reads a worker's lifesituations_saga_shared_triggers_handled_total.
func sharedHandled(t *testing.T, s *server) float64 {
	t.Helper()
	r := do(t, "GET", s.url+"/metrics", "", "", nil)
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "lifesituations_saga_shared_triggers_handled_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no lifesituations_saga_shared_triggers_handled_total", s.url)
	return 0
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTimersOnWorkerProcesses: every worker process fires the timers of
// every person, so that none is lost when a worker stops, and a timer two
// processes fire appends once. Twenty persons who turned 45 on 10 February
// 2026, registered a month later, each get a passport-replacement draft
// (reminders on 12 March and 11 April, deadline 11 May) from two --role
// worker processes on a manual clock; both clocks move at once past the
// reminders, and each draft is reminded once per due date; then one worker
// stops and the other's clock moves past the deadline, and every draft,
// those of the stopped worker's persons too, expires exactly once.
func TestTimersOnWorkerProcesses(t *testing.T) {
	const persons = 20
	url, double := esdbUnderTest(t)
	if double == nil {
		t.Skip("moves the manual clocks of its worker processes: for a fresh double, not a shared real server")
	}
	clk := []string{"--clock", "manual", "--clock-start", "2026-03-10T09:00:00Z"}
	ingest := startServer(t, append([]string{"--store", url, "--role", "ingest"}, clk...)...)
	workers := []*server{
		startServer(t, append([]string{"--store", url, "--role", "worker", "--partitions", "2"}, clk...)...),
		startServer(t, append([]string{"--store", url, "--role", "worker", "--partitions", "2"}, clk...)...),
	}
	api := startServer(t, append([]string{"--store", url, "--role", "api"}, clk...)...)
	waitFor(t, "every consumer to join the group", func() bool { return double.PersistentConsumers(sharedGroup) == 4 })

	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ids := make([]string, persons)
	var regs []map[string]any
	for i := range ids {
		ids[i] = uuid.NewString()
		regs = append(regs, registered(ids[i], "Смирнова", "Ольга", "1981-02-10", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Арбат, д. 4", t0))
	}
	send(t, ingest, population, regs...)
	moveAll := func(ws []*server, now time.Time) {
		t.Helper()
		done := make(chan struct{})
		for _, w := range ws {
			go func() { defer func() { done <- struct{}{} }(); setClock(t, w, now) }()
		}
		for range ws {
			<-done
		}
	}
	moveAll(workers, t0.Add(time.Minute))
	waitFor(t, "every passport-replacement draft", func() bool {
		for _, id := range ids {
			found := false
			for _, d := range signIn(t, api, id).drafts() {
				found = found || d.Service == "passport-replacement" && d.Status == "open"
			}
			if !found {
				return false
			}
		}
		return true
	})

	store, err := esdb.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	// timerEvents counts, per draft, its reminders by due date and its expiries.
	timerEvents := func() (reminded map[string]int, expired map[string]int) {
		reminded, expired = map[string]int{}, map[string]int{}
		last, err := store.LastPosition(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		err = popReadLog(t.Context(), store, 0, last, eventstore.Filter{StreamPrefixes: []string{situation.StreamPrefix}}, func(ev eventstore.RecordedEvent) (bool, error) {
			var d situation.DraftReminded // draft.expired has the same draft_id
			switch ev.Type {
			case situation.TypeDraftReminded:
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					return false, err
				}
				reminded[d.DraftID.String()+" "+d.Due]++
			case situation.TypeDraftExpired:
				if err := json.Unmarshal(ev.Data, &d); err != nil {
					return false, err
				}
				expired[d.DraftID.String()]++
			}
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return reminded, expired
	}

	// Both workers fire the reminders, at once.
	moveAll(workers, time.Date(2026, 4, 12, 12, 0, 0, 0, time.UTC))
	reminded, _ := timerEvents()
	if len(reminded) != 2*persons {
		t.Fatalf("%d drafts and due dates reminded, want 2 for each of %d drafts", len(reminded), persons)
	}
	for k, n := range reminded {
		if n != 1 {
			t.Errorf("draft and due date %s reminded %d times", k, n)
		}
	}

	// One worker stops; the other fires every expiry, its persons' and the
	// stopped one's.
	if err := workers[1].stop(); err != nil {
		t.Fatal(err)
	}
	moveAll(workers[:1], time.Date(2026, 5, 12, 12, 0, 0, 0, time.UTC))
	reminded, expired := timerEvents()
	if len(expired) != persons {
		t.Errorf("%d drafts expired, want all %d", len(expired), persons)
	}
	for k, n := range expired {
		if n != 1 {
			t.Errorf("draft %s expired %d times", k, n)
		}
	}
	for k, n := range reminded {
		if n != 1 {
			t.Errorf("draft and due date %s reminded %d times", k, n)
		}
	}
}

// TestSharedTriggersNeedEventStoreDB: --role worker joins the persistent
// subscription of the EventStoreDB store under serve's decorators, and
// refuses any other store.
func TestSharedTriggersNeedEventStoreDB(t *testing.T) {
	d, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	es, err := esdb.Open(t.Context(), d.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = es.Close() })
	if _, err := sharedTriggers(killAfterAppend{Store: es, prefix: "x"}); err != nil {
		t.Errorf("EventStoreDB under the fault decorator: %v", err)
	}
	emb, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Close() })
	if _, err := sharedTriggers(emb); err == nil || !strings.Contains(err.Error(), "esdb://") {
		t.Errorf("the embedded store: %v, want a refusal naming esdb://", err)
	}
}
