package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"lifesituations/adapters/sagarouter"
	"lifesituations/adapters/watermillstore"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/register"
	"lifesituations/sagas/calendar"
	"lifesituations/sagas/situations"
)

// Files of the core's read models under the data directory. They are
// derived from the log: deleting them rebuilds them at the next start.
const (
	registerFile    = "register.db"
	cabinetFile     = "cabinet.db"
	checkpointsFile = "checkpoints.db"
)

// coreConfig configures the proactive core.
type coreConfig struct {
	data         string
	catalogueDir string               // empty: the embedded default catalogue
	catalogue    *catalogue.Catalogue // when set, used instead of catalogueDir
	agencyDelay  time.Duration        // simulated agencies decide this long after a confirmation
	partitions   int                  // saga handlers splitting the person space
	workers      int                  // saga worker groups sharing the partitions
	tick         time.Duration        // how often the calendar and timers look at the clock
	metrics      prometheus.Registerer
	// withoutSagas (--role api) runs the projections only: no saga router,
	// calendar or timers ticks; another process decides.
	withoutSagas bool
	// shared (--role worker on EventStoreDB) makes the sagas one of the
	// worker processes the server splits the person space between.
	shared sagarouter.SharedSubscribe
	// withoutCabinet (--role worker) folds no cabinet: a worker process
	// serves no citizen, and the cabinet is the costliest fold.
	withoutCabinet bool
}

// core is the proactive part of the server: the register and cabinet
// projections, the situation sagas on their Watermill router, the
// calendar and the timers, all on one store and one clock.
type core struct {
	store       eventstore.Store
	clock       clock.Clock
	log         *slog.Logger
	catalogue   *catalogue.Catalogue
	register    *register.Projection
	cabinet     *cabinet.Cabinet
	service     *situations.Service
	timers      *situations.Timers
	router      *sagarouter.Router
	calendar    *calendar.Calendar
	checkpoints *watermillstore.BoltCheckpoints
	tick        time.Duration

	// background is what the API parts run beside the core (their own
	// projections and relays); run starts them with the rest.
	background []backgroundTask
	// inMemory are the parts' in-memory read models, which a live rebuild
	// replaces after the register and the cabinet (projections_live.go).
	inMemory []rebuildable

	// ticking serialises the calendar's and timers' ticks: the periodic
	// ticker and a moved manual clock may both ask for one.
	ticking sync.Mutex
}

// backgroundTask is work a part runs for as long as the core runs.
type backgroundTask struct {
	name string
	run  func(context.Context) error
}

// loadCatalogue returns the catalogue in dir, or the embedded default.
func loadCatalogue(dir string) (*catalogue.Catalogue, error) {
	if dir == "" {
		return catalogue.Default()
	}
	return loadCatalogueDir(dir)
}

func openCore(store eventstore.Store, clk clock.Clock, cfg coreConfig, log *slog.Logger) (_ *core, err error) {
	c := &core{store: store, clock: clk, log: log, tick: cfg.tick}
	defer func() {
		if err != nil {
			_ = c.close()
		}
	}()
	if c.catalogue = cfg.catalogue; c.catalogue == nil {
		if c.catalogue, err = loadCatalogue(cfg.catalogueDir); err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
	}
	if c.register, err = register.OpenProjection(filepath.Join(cfg.data, registerFile)); err != nil {
		return nil, fmt.Errorf("register projection: %w", err)
	}
	if !cfg.withoutCabinet {
		if c.cabinet, err = cabinet.Open(filepath.Join(cfg.data, cabinetFile),
			cabinet.WithFamily(cabinet.RegisterFamily(c.register), clk)); err != nil {
			return nil, fmt.Errorf("cabinet projection: %w", err)
		}
	}
	if cfg.metrics != nil {
		if err := registerFileModels(cfg.metrics, c.fileModels()); err != nil {
			return nil, err
		}
	}
	if c.service, err = situations.NewService(situations.Config{
		Store: store, Catalogue: c.catalogue, Register: c.register, Clock: clk, Logger: log,
	}); err != nil {
		return nil, fmt.Errorf("situation sagas: %w", err)
	}
	c.timers = situations.NewTimers(c.service, cfg.agencyDelay, nil)
	if c.checkpoints, err = watermillstore.OpenBoltCheckpoints(filepath.Join(cfg.data, checkpointsFile)); err != nil {
		return nil, fmt.Errorf("saga checkpoints: %w", err)
	}
	if cfg.withoutSagas {
		return c, nil
	}
	if c.router, err = sagarouter.New(sagarouter.Config{
		Store: store, Service: c.service, Timers: c.timers, Checkpoints: c.checkpoints,
		Partitions: cfg.partitions, Workers: cfg.workers, Logger: log, Metrics: cfg.metrics, Shared: cfg.shared,
		// Only events some situation is triggered by reach a handler.
		Triggers: func(eventType string) bool { return len(c.catalogue.Situations(eventType)) > 0 },
	}); err != nil {
		return nil, err
	}
	if c.calendar, err = calendar.New(calendar.Config{Store: store, Register: c.register, Clock: clk}); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	return c, nil
}

// run runs the projections, the saga router, the calendar and the periodic
// ticks until ctx is done or one of them fails. ready is called once all of
// them have caught up with the log as it stood at the start.
func (c *core) run(ctx context.Context, ready func()) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return quiet(ctx, c.register.Run(ctx, c.store), "register projection") })
	if c.cabinet != nil {
		g.Go(func() error { return quiet(ctx, c.cabinet.Run(ctx, c.store), "cabinet projection") })
	}
	for _, b := range c.background {
		g.Go(func() error { return quiet(ctx, b.run(ctx), b.name) })
	}
	if c.router == nil {
		// Projections only (--role api): ready once caught up with the log.
		g.Go(func() error {
			if err := c.caughtUp(ctx); err != nil {
				return quiet(ctx, err, "catching up")
			}
			ready()
			return nil
		})
		return g.Wait()
	}
	g.Go(func() error { return quiet(ctx, c.router.Run(ctx), "saga router") })
	g.Go(func() error { return quiet(ctx, c.calendar.Run(ctx), "calendar") })
	g.Go(func() error {
		select {
		case <-c.router.Running():
		case <-ctx.Done():
			return nil
		}
		if err := c.publishCatalogue(ctx); err != nil {
			return err
		}
		// Catch up with what happened while the server was down, then say so.
		if err := c.settle(ctx); err != nil {
			return quiet(ctx, err, "catching up")
		}
		ready()
		t := time.NewTicker(c.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := c.settle(ctx); err != nil {
					return quiet(ctx, err, "tick")
				}
			}
		}
	})
	return g.Wait()
}

// quiet treats an error caused by the stop as a clean end.
func quiet(ctx context.Context, err error, what string) error {
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// settle fires whatever the clock makes due (milestones, reminders,
// expiries, agency decisions) and waits until the sagas and projections
// have handled everything, again and again until a round appends nothing:
// a decision may itself make something due. It is what a moved manual clock
// waits for, so that the next request sees the consequences.
func (c *core) settle(ctx context.Context) error {
	c.ticking.Lock()
	defer c.ticking.Unlock()
	if c.router == nil { // no sagas here (--role api): nothing to fire
		return c.caughtUp(ctx)
	}
	for {
		if err := c.caughtUp(ctx); err != nil {
			return err
		}
		before, err := c.store.LastPosition(ctx)
		if err != nil {
			return err
		}
		if err := c.calendar.Tick(ctx); err != nil {
			return fmt.Errorf("calendar: %w", err)
		}
		if err := c.caughtUp(ctx); err != nil {
			return err
		}
		if err := c.timers.Tick(ctx); err != nil {
			return fmt.Errorf("timers: %w", err)
		}
		if err := c.caughtUp(ctx); err != nil {
			return err
		}
		after, err := c.store.LastPosition(ctx)
		if err != nil {
			return err
		}
		if after == before {
			return nil
		}
	}
}

// caughtUp waits until the register, the sagas, the timers' index and the
// cabinet have handled every event stored so far.
func (c *core) caughtUp(ctx context.Context) error {
	for {
		last, err := c.store.LastPosition(ctx)
		if err != nil {
			return err
		}
		if err := c.register.WaitFor(ctx, last); err != nil {
			return err
		}
		if c.router == nil { // no sagas here (--role api)
			return c.cabinetCaughtUp(ctx, last)
		}
		settled, err := c.router.Settled(ctx)
		if err != nil {
			return err
		}
		if !settled {
			if err := sleep(ctx, 2*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		// The sagas may have appended while we waited: look again.
		if now, err := c.store.LastPosition(ctx); err != nil || now != last {
			if err != nil {
				return err
			}
			continue
		}
		return c.cabinetCaughtUp(ctx, last)
	}
}

// cabinetCaughtUp waits for the cabinet to reach last, where there is one.
func (c *core) cabinetCaughtUp(ctx context.Context, last eventstore.Position) error {
	if c.cabinet == nil {
		return nil
	}
	return c.cabinet.WaitFor(ctx, last)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CatalogueStream holds every catalogue version the server has run with.
const CatalogueStream = "catalogue"

// catalogueNS names catalogue.published events after the catalogue's hash,
// so that publishing the same catalogue twice stores it once.
var catalogueNS = uuid.MustParse("8d0f6f2e-4b1e-5d0c-9a57-2c1f7e3b6a10")

// publishCatalogue records the catalogue the decisions are taken with: an
// auditor finds in the log every version and hash a decision refers to.
func (c *core) publishCatalogue(ctx context.Context) error {
	data, err := json.Marshal(map[string]string{"version": c.catalogue.Version(), "hash": c.catalogue.Hash()})
	if err != nil {
		return err
	}
	now := c.clock.Now()
	_, err = c.store.Append(ctx, CatalogueStream, eventstore.Any, eventstore.Event{
		ID:   uuid.NewSHA1(catalogueNS, []byte(c.catalogue.Hash())),
		Type: "catalogue.published", SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{OccurredAt: now, RecordedAt: now, CatalogueVersion: c.catalogue.Version()},
	})
	if err != nil {
		return fmt.Errorf("publish catalogue %s: %w", c.catalogue.Version(), err)
	}
	return nil
}

// readModels are the read models a live rebuild replaces, in order: the
// register first, which the cabinet's readers consult.
func (c *core) readModels() []rebuildable {
	models := []rebuildable{{name: "register", rebuild: func(ctx context.Context, progress func(eventstore.Position)) error {
		return c.register.Rebuild(ctx, c.store, progress)
	}}}
	if c.cabinet != nil {
		models = append(models, rebuildable{name: "cabinet", rebuild: func(ctx context.Context, progress func(eventstore.Position)) error {
			return c.cabinet.Rebuild(ctx, c.store, progress)
		}})
	}
	return append(models, c.inMemory...)
}

func (c *core) close() error {
	var errs []error
	if c.router != nil {
		errs = append(errs, c.router.Close())
	}
	if c.checkpoints != nil {
		errs = append(errs, c.checkpoints.Close())
	}
	if c.cabinet != nil {
		errs = append(errs, c.cabinet.Close())
	}
	if c.register != nil {
		errs = append(errs, c.register.Close())
	}
	return errors.Join(errs...)
}
