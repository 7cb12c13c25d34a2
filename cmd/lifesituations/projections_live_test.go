package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/follow"
)

// cabinetPaths are the citizen's reads the live rebuild must not disturb.
var cabinetPaths = []string{"/v1/me/situations", "/v1/me/drafts", "/v1/me/grants", "/v1/me/notifications"}

// readCabinet reads every cabinet path of a citizen; safe off the test
// goroutine.
func readCabinet(url, token string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range cabinetPaths {
		req, err := http.NewRequest("GET", url+p, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", p, err)
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		out[p] = string(body)
	}
	return out, nil
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestLiveRebuildKeepsServing rebuilds every read model of a serving
// server while citizens read their cabinets and registries send births: no
// request fails, every answer during the rebuild is the one before it, the
// files are switched, and afterwards the cabinets hold the old answers and
// the consequences of the births sent meanwhile.
func TestLiveRebuildKeepsServing(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-10T09:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	family := func(n int) (mother, child string, events [2]map[string]any) {
		mother, child = personID(1000+2*n), personID(1001+2*n)
		events[0] = registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0)
		events[1] = born(fmt.Sprintf("live-birth-%d", n), child, mother, "2026-03-05", fmt.Sprintf("770-2026-%06d", n), t0)
		return mother, child, events
	}
	const before = 200
	var mothers []string
	var regs, births []map[string]any
	for n := range before {
		m, _, ev := family(n)
		mothers, regs, births = append(mothers, m), append(regs, ev[0]), append(births, ev[1])
	}
	send(t, s, population, regs...)
	send(t, s, civilStatus, births...)
	setClock(t, s, t0.Add(time.Minute))

	tokens := map[string]string{}
	want := map[string]map[string]string{}
	for _, m := range mothers[:20] {
		tokens[m] = devToken(t, s, "citizen", m)
		got, err := readCabinet(s.url, tokens[m])
		if err != nil {
			t.Fatal(err)
		}
		want[m] = got
	}
	register, cabinet := filepath.Join(s.data, registerFile), filepath.Join(s.data, cabinetFile)
	registerIno, cabinetIno := inode(t, register), inode(t, cabinet)
	operator := devToken(t, s, "operator", "ops")
	populationToken, civilToken := devToken(t, s, "registry", population), devToken(t, s, "registry", civilStatus)

	// Readers and a registry keep at it from before the rebuild starts
	// until after it has switched.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, failures atomic.Int64
	var firstFailure atomic.Value
	failed := func(err error) {
		failures.Add(1)
		firstFailure.CompareAndSwap(nil, err.Error())
	}
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := mothers[i%len(want)]
				got, err := readCabinet(s.url, tokens[m])
				if err != nil {
					failed(err)
					continue
				}
				reads.Add(1)
				for _, p := range cabinetPaths {
					if got[p] != want[m][p] {
						failed(fmt.Errorf("%s of %s changed during the rebuild:\n%s\nwas\n%s", p, m, got[p], want[m][p]))
					}
				}
			}
		}()
	}
	var newMothers []string
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		post := func(token string, ev map[string]any) {
			body, _ := json.Marshal([]map[string]any{ev})
			req, _ := http.NewRequest("POST", s.url+"/v1/events", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/cloudevents-batch+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				failed(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 202 {
				failed(fmt.Errorf("ingest during the rebuild: %d %s", resp.StatusCode, b))
			}
		}
		// Births until the rebuild has switched (a few at least).
		for n := before; ; n++ {
			select {
			case <-stop:
				if len(newMothers) >= 5 {
					return
				}
			default:
			}
			m, _, ev := family(n)
			post(populationToken, ev[0])
			post(civilToken, ev[1])
			newMothers = append(newMothers, m)
		}
	}()

	r := do(t, "POST", s.url+rebuildPath, operator, "", nil)
	if r.status != 202 || r.header.Get("Location") != rebuildPath {
		t.Fatalf("start a rebuild: %d %s %v", r.status, r.body, r.header)
	}
	var status rebuildStatus
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := do(t, "GET", s.url+rebuildPath, operator, "", nil)
		if r.status != 200 {
			t.Fatalf("rebuild status: %d %s", r.status, r.body)
		}
		status = rebuildStatus{}
		if err := json.Unmarshal(r.body, &status); err != nil {
			t.Fatal(err)
		}
		if status.State != rebuildRunning || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	<-sent
	if status.State != rebuildSucceeded || status.Generation != 1 || status.Run != 1 {
		t.Fatalf("rebuild ended as %+v", status)
	}
	var names []string
	for _, m := range status.Models {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, ","); got != "register,cabinet,registry entries index,quality projection" {
		t.Errorf("rebuilt %s", got)
	}
	t.Logf("status %+v reads %d", status, reads.Load())
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d requests failed or changed during the rebuild; first: %v", n, firstFailure.Load())
	}
	if reads.Load() == 0 {
		t.Fatal("no cabinet was read during the rebuild")
	}
	if inode(t, register) == registerIno || inode(t, cabinet) == cabinetIno {
		t.Error("register.db or cabinet.db is the same file after the rebuild")
	}
	for _, f := range []string{registerFile, cabinetFile} {
		left, _ := filepath.Glob(filepath.Join(s.data, f+".rebuild*"))
		if len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}

	// Settled again: the old cabinets as they were, the new mothers' as
	// an old mother's, the births' grants verifiable by an agency.
	setClock(t, s, t0.Add(time.Minute+time.Second))
	for _, m := range mothers[:len(want)] {
		got, err := readCabinet(s.url, tokens[m])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cabinetPaths {
			if got[p] != want[m][p] {
				t.Errorf("%s of %s after the rebuild:\n%s\nwas\n%s", p, m, got[p], want[m][p])
			}
		}
	}
	outcomes := func(m string) string {
		var out []string
		for service, st := range signIn(t, s, m).stepsOf("birth-of-child") {
			out = append(out, service+"="+st.Outcome)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	wantOutcomes := outcomes(mothers[0])
	for _, m := range newMothers {
		if got := outcomes(m); got != wantOutcomes {
			t.Errorf("mother %s registered during the rebuild: %s, want %s", m, got, wantOutcomes)
		}
	}
	grants := signIn(t, s, newMothers[len(newMothers)-1]).grants()
	if len(grants) == 0 {
		t.Fatal("no grant for the last mother")
	}
	g := grants[0]
	if r := do(t, "GET", s.url+"/v1/registries/"+g.Registry+"/entries/"+g.EntryID, devToken(t, s, "agency", "sfr"), "", nil); r.status != 200 {
		t.Errorf("the entry of a grant made during the rebuild: %d %s", r.status, r.body)
	}

	// Driven from the command line: progress on stderr, the result on stdout.
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"projections", "rebuild", "--server", s.url, "--token", operator, "--poll", "10ms"}, &stdout, &stderr); err != nil {
		t.Fatalf("projections rebuild --server: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "every read model switched (generation 2)") || !strings.Contains(stdout.String(), "cabinet: switched at position") {
		t.Errorf("projections rebuild --server printed:\n%s", stdout.String())
	}
	if err := run(context.Background(), []string{"projections", "rebuild", "--server", s.url, "--token", devToken(t, s, "citizen", mothers[0])}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a citizen's rebuild: %v", err)
	}
}

// blockingModel is a read model whose rebuild waits to be released.
type blockingModel struct {
	release chan error
}

func (b blockingModel) rebuild(ctx context.Context, progress func(eventstore.Position)) error {
	progress(7)
	select {
	case err := <-b.release:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestLiveRebuildRunsOneAtATime: a second rebuild is refused while one
// runs, a failure is told in the status with the model it failed at, and
// the generation counts only the rebuilds that switched everything.
func TestLiveRebuildRunsOneAtATime(t *testing.T) {
	store := newMemLog(t, 10)
	b := blockingModel{release: make(chan error)}
	l := newLiveRebuild(store, func() []rebuildable { return []rebuildable{{name: "blocking", rebuild: b.rebuild}} },
		slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()

	waitFor := func(what string, ok func(rebuildStatus) bool) rebuildStatus {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if s := l.Status(); ok(s) {
				return s
			}
		}
		t.Fatalf("%s: status %+v", what, l.Status())
		return rebuildStatus{}
	}
	if s, ok := l.Begin(); !ok || s.State != rebuildRunning || s.Run != 1 {
		t.Fatalf("first Begin: %v %+v", ok, s)
	}
	s := waitFor("running at the model", func(s rebuildStatus) bool { return s.Position == 7 })
	if s.Phase != "blocking" || s.Target != 10 {
		t.Errorf("status while running: %+v", s)
	}
	if s, ok := l.Begin(); ok || s.Run != 1 {
		t.Fatalf("Begin while one runs: %v %+v", ok, s)
	}
	b.release <- errors.New("disk full")
	s = waitFor("failed", func(s rebuildStatus) bool { return s.State != rebuildRunning })
	if s.State != rebuildFailed || s.Generation != 0 || !strings.Contains(s.Error, "blocking: disk full") || s.FinishedAt == nil {
		t.Errorf("after a failure: %+v", s)
	}
	if _, ok := l.Begin(); !ok {
		t.Fatal("Begin after a failure refused")
	}
	b.release <- nil
	s = waitFor("succeeded", func(s rebuildStatus) bool { return s.State != rebuildRunning })
	if s.State != rebuildSucceeded || s.Generation != 1 || s.Run != 2 || len(s.Models) != 1 || s.Models[0].Position != 7 {
		t.Errorf("after a success: %+v", s)
	}
}

// counter is an in-memory model that counts the events it folded.
type counter struct {
	*follow.Log
	store  eventstore.Store
	events atomic.Int64
}

func newCounter(store eventstore.Store) *counter {
	c := &counter{store: store}
	c.Log = follow.New("counter", func(eventstore.RecordedEvent) error { c.events.Add(1); return nil })
	return c
}

func (c *counter) Run(ctx context.Context) error { return c.Log.Run(ctx, c.store) }

// TestLiveModelSwitchesWithoutGoingBack replaces an in-memory model while
// events are appended and readers wait: every wait ends, the new model
// has folded every event once, and it took over no behind the old one.
func TestLiveModelSwitchesWithoutGoingBack(t *testing.T) {
	store := newMemLog(t, 100)
	built := atomic.Int32{}
	m := newLiveModel("counter", func() *counter { built.Add(1); return newCounter(store) })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	if err := m.WaitFor(ctx, 100); err != nil {
		t.Fatal(err)
	}
	old := m.Model()

	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for range 200 {
			if err := store.add(); err != nil {
				panic(err)
			}
		}
	}()
	waits := make(chan error, 1)
	go func() { waits <- m.WaitFor(ctx, 300) }()
	if err := m.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	<-appended
	if err := <-waits; err != nil {
		t.Fatalf("a wait across the switch: %v", err)
	}
	now := m.Model()
	if now == old || built.Load() != 2 {
		t.Fatal("the model was not replaced")
	}
	if now.Position() < 300 || now.events.Load() != int64(now.Position()) {
		t.Errorf("the new model is at %d with %d events folded", now.Position(), now.events.Load())
	}
	if err := old.WaitFor(ctx, 301); !errors.Is(err, follow.ErrNotRunning) {
		t.Errorf("the old model still follows the log: %v", err)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
}

// memLog is an embedded store in a temporary directory that tests append
// plain events to.
type memLog struct {
	*embedded.Store
	n atomic.Int64
}

func newMemLog(t *testing.T, events int) *memLog {
	t.Helper()
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	l := &memLog{Store: s}
	for range events {
		if err := l.add(); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// add appends one event on a stream of its own.
func (l *memLog) add() error {
	n := l.n.Add(1)
	_, err := l.Append(context.Background(), fmt.Sprintf("test-%d", n), eventstore.NoStream, eventstore.Event{
		ID: uuid.New(), Type: "test.happened", SchemaVersion: 1, Data: []byte(`{}`),
	})
	return err
}
