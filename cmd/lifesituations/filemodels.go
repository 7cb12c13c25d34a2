package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"lifesituations/projections/derived"
)

// fileModel is one of the core's read models kept in a file, whose
// commits are counted.
type fileModel struct {
	name    string
	commits func() derived.Commits
}

// fileModels are the core's read models kept in files: the register, and
// the cabinet where the core folds one.
func (c *core) fileModels() []fileModel {
	models := []fileModel{{"register", c.register.Commits}}
	if c.cabinet != nil {
		models = append(models, fileModel{"cabinet", c.cabinet.Commits})
	}
	return models
}

// registerFileModels exports what the read models' commits cost, a
// counter of each kind per model.
func registerFileModels(reg prometheus.Registerer, models []fileModel) error {
	for _, m := range models {
		labels := prometheus.Labels{"model": m.name}
		counters := []struct {
			name, help string
			value      func(derived.Commits) float64
		}{
			{"lifesituations_readmodel_writes_total", "Writes of the read model's commits to its file: one per dirty page (or run of pages of one large node), and the meta page's.",
				func(c derived.Commits) float64 { return float64(c.Writes) }},
			{"lifesituations_readmodel_pages_written_total", "Pages the read model's commits wrote to its file, the meta pages aside.",
				func(c derived.Commits) float64 { return float64(c.Pages) }},
			{"lifesituations_readmodel_commit_seconds_total", "Time the read model's commits spent laying out and writing pages.",
				func(c derived.Commits) float64 { return c.Time.Seconds() }},
		}
		for _, counter := range counters {
			f := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: counter.name, Help: counter.help, ConstLabels: labels},
				func() float64 { return counter.value(m.commits()) })
			if err := reg.Register(f); err != nil {
				return fmt.Errorf("register %s{model=%q}: %w", counter.name, m.name, err)
			}
		}
	}
	return nil
}
