package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
)

// Operations on a running server: an online backup of the event store, and
// a live rebuild of the read models (projections_live.go).
func init() { apiParts = append(apiParts, opsPart) }

// backuper is a store that can copy itself while serving (the embedded one).
type backuper interface {
	Backup(ctx context.Context, dir string) (eventstore.Position, error)
}

// backupsDir holds the online backups, under the data directory.
const backupsDir = "backups"

func opsPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	routes := rebuildRoutes(d)
	// The decorator copies the store below it (and the keys): only the
	// embedded store can.
	b, ok := d.core.store.(backuper)
	if _, below := unwrapStore(d.core.store).(backuper); !ok || !below {
		return routes, nil, nil // EventStoreDB has backups of its own
	}
	backup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := d.core.clock.Now().UTC()
		dir := filepath.Join(d.data, backupsDir, now.Format("20060102T150405Z"))
		last, err := b.Backup(r.Context(), dir)
		if err != nil {
			d.log.Error("backup", "dir", dir, "err", err)
			problem.Write(w, problem.New(http.StatusConflict, "backup-failed", "Backup failed", err.Error()))
			return
		}
		d.log.Info("backup written", "dir", dir, "position", last)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"dir": dir, "position": last, "at": now.Format(time.RFC3339)})
	})
	return append(routes, httpapi.Route{Pattern: "POST /v1/ops/backup", Roles: []auth.Role{auth.RoleOperator}, Handler: backup}), nil, nil
}

// rebuildPath is the live rebuild's resource: POST starts one, GET tells
// how it goes.
const rebuildPath = "/v1/ops/projections/rebuild"

// rebuildRoutes serve the live rebuild, which runs beside the core. The
// read models are listed when a rebuild starts: parts add theirs after
// this one.
func rebuildRoutes(d apiDeps) []httpapi.Route {
	l := newLiveRebuild(d.core.store, d.core.readModels, d.log.With("part", "rebuild"))
	runBeside(d, "projections rebuild", l.Run)
	writeStatus := func(w http.ResponseWriter, code int, s rebuildStatus) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(s)
	}
	start := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := l.Begin()
		if !ok {
			problem.Write(w, problem.New(http.StatusConflict, "rebuild-running", "A rebuild is running",
				fmt.Sprintf("rebuild %d is at %s; GET %s tells when it ends", s.Run, s.Phase, rebuildPath)))
			return
		}
		d.log.Info("live rebuild of the read models started", "run", s.Run)
		w.Header().Set("Location", rebuildPath)
		writeStatus(w, http.StatusAccepted, s)
	})
	status := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, l.Status())
	})
	op := []auth.Role{auth.RoleOperator}
	return []httpapi.Route{
		{Pattern: "POST " + rebuildPath, Roles: op, Handler: start},
		{Pattern: "GET " + rebuildPath, Roles: op, Handler: status},
	}
}
