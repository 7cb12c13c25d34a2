package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"time"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/eventstore"
)

// Operations on a running server: an online backup of the event store.
func init() { apiParts = append(apiParts, opsPart) }

// backuper is a store that can copy itself while serving (the embedded one).
type backuper interface {
	Backup(ctx context.Context, dir string) (eventstore.Position, error)
}

// backupsDir holds the online backups, under the data directory.
const backupsDir = "backups"

func opsPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	b, ok := d.core.store.(backuper)
	if !ok {
		return nil, nil, nil // EventStoreDB has backups of its own
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
	return []httpapi.Route{{Pattern: "POST /v1/ops/backup", Roles: []auth.Role{auth.RoleOperator}, Handler: backup}}, nil, nil
}
