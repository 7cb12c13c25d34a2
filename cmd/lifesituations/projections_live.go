package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lifesituations/domain/eventstore"
	"lifesituations/projections/follow"
)

// A live rebuild (POST /v1/ops/projections/rebuild) folds every read model
// the server serves from the log again, beside the one in use, and switches
// each to its new copy once caught up, while the server goes on serving:
// the bbolt files (register.db, cabinet.db) through their own Rebuild
// (projections/derived: the switch falls between two transactions of the
// live fold, with an atomic rename), the in-memory models through
// liveModel. One runs at a time; its status is GET on the same path.

// rebuildable is one read model a live rebuild replaces.
type rebuildable struct {
	name string
	// rebuild folds the log into a new copy and switches to it, telling
	// progress the position the copy reaches.
	rebuild func(ctx context.Context, progress func(eventstore.Position)) error
}

// Rebuild states.
const (
	rebuildIdle      = "idle"
	rebuildRunning   = "running"
	rebuildSucceeded = "succeeded"
	rebuildFailed    = "failed"
)

// rebuildStatus is the status resource of the live rebuild.
type rebuildStatus struct {
	State string `json:"state"`
	// Run counts the rebuilds started since the server started;
	// Generation those that switched every read model.
	Run        int `json:"run"`
	Generation int `json:"generation"`
	// Phase is the read model being rebuilt; Position how far its new copy
	// has folded the log, of Target, the log's last position when it began.
	Phase      string         `json:"phase,omitempty"`
	Position   uint64         `json:"position"`
	Target     uint64         `json:"target"`
	StartedAt  *time.Time     `json:"started_at,omitempty"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Error      string         `json:"error,omitempty"`
	Models     []rebuiltModel `json:"models"`
}

// rebuiltModel is one read model a run has switched.
type rebuiltModel struct {
	Name     string  `json:"name"`
	Position uint64  `json:"position"` // where the new copy took over
	Seconds  float64 `json:"seconds"`
}

// liveRebuild runs the live rebuilds of a server, one at a time.
type liveRebuild struct {
	store  eventstore.Store
	models func() []rebuildable
	log    *slog.Logger

	start chan struct{}

	mu     sync.Mutex
	status rebuildStatus
}

func newLiveRebuild(store eventstore.Store, models func() []rebuildable, log *slog.Logger) *liveRebuild {
	return &liveRebuild{store: store, models: models, log: log, start: make(chan struct{}, 1),
		status: rebuildStatus{State: rebuildIdle, Models: []rebuiltModel{}}}
}

// Status is a copy of the status.
func (l *liveRebuild) Status() rebuildStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.status
	s.Models = append([]rebuiltModel{}, s.Models...)
	return s
}

// Begin asks for a rebuild; false (with the status) when one runs already.
func (l *liveRebuild) Begin() (rebuildStatus, bool) {
	l.mu.Lock()
	if l.status.State == rebuildRunning {
		l.mu.Unlock()
		return l.Status(), false
	}
	now := time.Now().UTC()
	l.status = rebuildStatus{State: rebuildRunning, Run: l.status.Run + 1, Generation: l.status.Generation,
		StartedAt: &now, Models: []rebuiltModel{}}
	l.mu.Unlock()
	l.start <- struct{}{} // room for one: only a Begin that set running sends
	return l.Status(), true
}

// Run carries out the rebuilds asked for until ctx is done. A failed
// rebuild is told in the status and leaves the read models as they were;
// it does not stop the server.
func (l *liveRebuild) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.start:
		}
		err := l.rebuild(ctx)
		now := time.Now().UTC()
		l.mu.Lock()
		l.status.FinishedAt = &now
		if err != nil {
			l.status.State, l.status.Error = rebuildFailed, err.Error()
		} else {
			l.status.State, l.status.Phase = rebuildSucceeded, ""
			l.status.Generation++
		}
		l.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.log.Error("live rebuild of the read models", "err", err)
		} else {
			l.log.Info("live rebuild of the read models switched", "generation", l.Status().Generation)
		}
	}
}

func (l *liveRebuild) rebuild(ctx context.Context) error {
	for _, m := range l.models() {
		target, err := l.store.LastPosition(ctx)
		if err != nil {
			return fmt.Errorf("%s: last position of the log: %w", m.name, err)
		}
		l.mu.Lock()
		l.status.Phase, l.status.Position, l.status.Target = m.name, 0, target
		l.mu.Unlock()
		began := time.Now()
		var reached atomic.Uint64
		err = m.rebuild(ctx, func(pos eventstore.Position) {
			reached.Store(pos)
			l.mu.Lock()
			l.status.Position = pos
			l.mu.Unlock()
		})
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		took := time.Since(began)
		l.log.Info("read model rebuilt and switched", "model", m.name, "position", reached.Load(), "took", took)
		l.mu.Lock()
		l.status.Models = append(l.status.Models, rebuiltModel{Name: m.name, Position: reached.Load(), Seconds: took.Seconds()})
		l.mu.Unlock()
	}
	return nil
}

// followed is an in-memory read model that follows the log
// (projections/follow).
type followed interface {
	Run(ctx context.Context) error
	Position() eventstore.Position
	WaitFor(ctx context.Context, pos eventstore.Position) error
}

// liveModel serves an in-memory read model that a live rebuild replaces
// with a new one folded from the log beside it, each on its own
// subscription. At the switch the old one stops following, the new one
// folds at least as far, and only then do readers move to it: they never
// see the model go back, and a wait the old one can no longer satisfy
// waits for the switch, then goes on with the new one.
type liveModel[T followed] struct {
	name  string
	build func() T

	cur atomic.Pointer[T]
	// switching, while a switch runs, is closed once it is over.
	switching atomic.Pointer[chan struct{}]
	// next hands Run a new model to run in place of the current one; Run
	// closes done once readers use it.
	next chan switchTo[T]
}

type switchTo[T followed] struct {
	model T
	stop  context.CancelFunc // stops the new model's Run
	ended <-chan error       // its Run's end
	done  chan struct{}
}

func newLiveModel[T followed](name string, build func() T) *liveModel[T] {
	m := &liveModel[T]{name: name, build: build, next: make(chan switchTo[T])}
	first := build()
	m.cur.Store(&first)
	return m
}

// Model is the model readers use now.
func (m *liveModel[T]) Model() T { return *m.cur.Load() }

// WaitFor waits until the current model has folded the log up to pos,
// across a switch.
func (m *liveModel[T]) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for {
		cur := m.cur.Load()
		err := (*cur).WaitFor(ctx, pos)
		if err == nil || !errors.Is(err, follow.ErrNotRunning) {
			return err
		}
		if sw := m.switching.Load(); sw != nil {
			select {
			case <-*sw:
			case <-ctx.Done():
				return err
			}
		}
		if m.cur.Load() == cur {
			return err // stopped, not replaced
		}
	}
}

// Run runs the current model, and in its place each new one Rebuild hands
// over, until ctx is done or the one running fails.
func (m *liveModel[T]) Run(ctx context.Context) error {
	runCtx, stop := context.WithCancel(ctx)
	ended := make(chan error, 1)
	go func() { ended <- m.Model().Run(runCtx) }()
	var stopped <-chan error = ended
	defer func() { stop(); <-stopped }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-stopped:
			stopped = closedErr // for the deferred wait
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("stopped following the log")
			}
			return fmt.Errorf("%s: %w", m.name, err)
		case sw := <-m.next:
			m.switching.Store(&sw.done)
			stop()
			<-stopped
			old := m.Model()
			stop, stopped = sw.stop, sw.ended
			err := sw.model.WaitFor(ctx, old.Position())
			m.cur.Store(&sw.model)
			m.switching.Store(nil)
			close(sw.done)
			if err != nil {
				return quiet(ctx, fmt.Errorf("%s: the new copy did not catch up: %w", m.name, err), "switch")
			}
		}
	}
}

// closedErr is a channel that is closed: a Run already waited for.
var closedErr = func() chan error { c := make(chan error); close(c); return c }()

// Rebuild builds a new model, has it fold the log beside the current one
// until it is close behind, then has Run switch to it.
func (m *liveModel[T]) Rebuild(ctx context.Context, progress func(eventstore.Position)) error {
	model := m.build()
	// Run stops it at the server's stop once it takes it over.
	runCtx, stop := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- model.Run(runCtx) }()
	fail := func(err error) error {
		stop()
		<-ended
		return fmt.Errorf("%s: %w", m.name, err)
	}
	for {
		target := m.Model().Position()
		wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := model.WaitFor(wait, target)
		cancel()
		if progress != nil {
			progress(model.Position())
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return fail(err)
		}
	}
	sw := switchTo[T]{model: model, stop: stop, ended: ended, done: make(chan struct{})}
	select {
	case m.next <- sw:
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	<-sw.done
	return nil
}

// rebuildLive has the server at base rebuild its read models live, and
// shows the progress until the rebuild ends.
func rebuildLive(ctx context.Context, base, token string, poll time.Duration, stdout, stderr io.Writer) error {
	base = strings.TrimRight(base, "/")
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(method string) (rebuildStatus, int, error) {
		var s rebuildStatus
		req, err := http.NewRequestWithContext(ctx, method, base+rebuildPath, nil)
		if err != nil {
			return s, 0, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return s, 0, fmt.Errorf("%s %s: %w", method, rebuildPath, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return s, resp.StatusCode, fmt.Errorf("%s %s: %w", method, rebuildPath, err)
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
			return s, resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, rebuildPath, resp.Status, strings.TrimSpace(string(body)))
		}
		if err := json.Unmarshal(body, &s); err != nil {
			return s, resp.StatusCode, fmt.Errorf("%s %s: decode the status: %w", method, rebuildPath, err)
		}
		return s, resp.StatusCode, nil
	}
	started, _, err := call(http.MethodPost)
	if err != nil {
		return fmt.Errorf("projections rebuild: %w", err)
	}
	fmt.Fprintf(stdout, "rebuild %d started on %s\n", started.Run, base)
	progress := newProgress(stderr)
	shown := 0
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		s, _, err := call(http.MethodGet)
		if err != nil {
			return fmt.Errorf("projections rebuild: %w", err)
		}
		if s.Run != started.Run {
			return fmt.Errorf("projections rebuild: the server runs rebuild %d, not %d (restarted?)", s.Run, started.Run)
		}
		for ; shown < len(s.Models); shown++ {
			m := s.Models[shown]
			progress.update(m.Name, m.Position, m.Position)
		}
		if s.State == rebuildRunning && s.Phase != "" {
			progress.update(s.Phase, s.Position, max(s.Target, s.Position))
			continue
		}
		progress.done()
		for _, m := range s.Models {
			fmt.Fprintf(stdout, "%s: switched at position %d after %.1fs\n", m.Name, m.Position, m.Seconds)
		}
		switch s.State {
		case rebuildSucceeded:
			fmt.Fprintf(stdout, "every read model switched (generation %d)\n", s.Generation)
			return nil
		case rebuildFailed:
			return fmt.Errorf("projections rebuild: failed at %s: %s", s.Phase, s.Error)
		default:
			return fmt.Errorf("projections rebuild: unexpected state %q", s.State)
		}
	}
}
