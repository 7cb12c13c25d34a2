package main

import (
	"context"
	"fmt"

	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/qualityapi"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/quality"
)

// Quality monitoring (CONTRACT.md section 4): GET /v1/quality for
// operators and auditors, and the same figures as lifesituations_quality_*
// metrics, from a read model folded in memory from the log.
func init() { apiParts = append(apiParts, qualityPart) }

func qualityPart(d apiDeps) ([]httpapi.Route, []httpapi.PublicRoute, error) {
	model := liveQuality{newLiveModel("quality projection", func() *quality.Projection { return quality.New(d.core.store) })}
	if err := d.metrics.Register(qualityapi.NewMetrics(model)); err != nil {
		return nil, nil, fmt.Errorf("quality metrics: %w", err)
	}
	runBeside(d, "quality projection", model.Run)
	rebuildInMemory(d, "quality projection", model.Rebuild)
	return qualityapi.New(model, d.core.store, d.log.With("part", "quality"), 0).Routes(), nil, nil
}

// liveQuality is the quality model, which a live rebuild replaces.
type liveQuality struct {
	*liveModel[*quality.Projection]
}

func (l liveQuality) Services() ([]quality.Service, eventstore.Position) { return l.Model().Services() }

// rebuildInMemory has a live rebuild replace a part's in-memory read model
// with one folded from the log again.
func rebuildInMemory(d apiDeps, name string, fn func(context.Context, func(eventstore.Position)) error) {
	d.core.inMemory = append(d.core.inMemory, rebuildable{name: name, rebuild: fn})
}

// runBeside has fn run beside the core, for as long as the core runs: a
// part's projection or relay. Its failure stops the server, like the
// core's own projections.
func runBeside(d apiDeps, name string, fn func(context.Context) error) {
	d.core.background = append(d.core.background, backgroundTask{name: name, run: fn})
}
