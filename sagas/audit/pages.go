package audit

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/register"
)

// readAhead bounds the pages read, opened and decoded ahead of the fold
// (besides the two in the channel and those being read).
const readAhead = 6

// pageReader reads the replay's pages (readPages) once the plan has said
// which facts the register folds.
type pageReader struct {
	pages  chan loaded
	done   chan struct{}
	err    error // set once done is closed
	cancel context.CancelFunc
}

func (v *verifier) startReading(ctx context.Context) *pageReader {
	ctx, cancel := context.WithCancel(ctx)
	r := &pageReader{pages: make(chan loaded, 2), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(r.done)
		defer close(r.pages)
		r.err = v.readPages(ctx, func(p loaded) error {
			select {
			case r.pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return r
}

// stop cancels the reading if it is not over, waits for its end and
// returns its error.
func (r *pageReader) stop() error {
	r.cancel()
	for range r.pages {
	}
	<-r.done
	return r.err
}

// loaded is a page of the whole log as the replay's readers give it:
// read, opened and decoded.
type loaded struct {
	events []eventstore.RecordedEvent
	// decoded, parallel to events: the openings and step decisions.
	decoded []decoded
	err     error
}

// readPages reads the whole log to v.last in pages of positions, on every
// core, each page opened and decoded by the reader that read it, and
// gives them to fn in log order. The log's positions are dense but where
// records are missing, so a page of Page positions holds at most Page
// events: page k is the events after position k*Page up to (k+1)*Page,
// whatever the others hold.
func (v *verifier) readPages(ctx context.Context, fn func(loaded) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		k   uint64
		out chan loaded
	}
	futures := make(chan chan loaded, readAhead)
	jobs := make(chan job)
	var wg sync.WaitGroup
	defer wg.Wait() // no reader is left on the store once it returns
	wg.Go(func() {
		defer close(futures)
		defer close(jobs)
		size := uint64(v.cfg.Page)
		for k := uint64(0); k*size < uint64(v.last); k++ {
			j := job{k: k, out: make(chan loaded, 1)}
			select {
			case futures <- j.out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	})
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				j.out <- v.loadPage(ctx, j.k)
			}
		})
	}
	for out := range futures {
		var p loaded
		select {
		case p = <-out:
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.err != nil {
			return p.err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// loadPage reads page k of the log, opens its personal fields and decodes
// its openings and step decisions.
func (v *verifier) loadPage(ctx context.Context, k uint64) loaded {
	size := eventstore.Position(v.cfg.Page)
	after := eventstore.Position(k) * size
	end := min(after+size, v.last)
	var (
		evs  []eventstore.RecordedEvent
		left []bool
		err  error
	)
	if l, ok := v.src.store.(lender); ok {
		evs, left, err = v.readLent(ctx, l, after, end)
	} else {
		evs, left, err = v.readPage(ctx, after, end)
	}
	if err != nil {
		return loaded{err: err}
	}
	p := loaded{events: evs, decoded: make([]decoded, len(evs))}
	for i := range evs {
		if left[i] {
			p.decoded[i].left = true
			continue
		}
		v.decode(&evs[i], &p.decoded[i])
	}
	return p
}

// readPage reads the events after position after up to end, and opens
// them but the facts the register leaves (left, parallel to the events;
// see kin.go), whose data it drops.
func (v *verifier) readPage(ctx context.Context, after, end eventstore.Position) ([]eventstore.RecordedEvent, []bool, error) {
	evs, err := v.src.store.ReadAll(ctx, after, eventstore.Filter{}, v.cfg.Page)
	if err != nil {
		return nil, nil, fmt.Errorf("read the log: %w", err)
	}
	for i, e := range evs {
		if e.Position > end {
			evs = evs[:i]
			break
		}
	}
	left := make([]bool, len(evs))
	var named []uuid.UUID
	for i := range evs {
		e := &evs[i]
		if left[i] = v.leaves(e, &named); left[i] {
			e.Data = nil
			v.factsLeft.Add(1)
			continue
		}
		if e.Data, err = v.src.open(e.Data); err != nil {
			return nil, nil, openError(e, err) // the first of the page, as the decorator
		}
	}
	return evs, left, nil
}

// readLent is readPage from a store that lends its events: each event's
// data is copied once, by opening it (most events hold personal fields),
// where a page read copies it and opening copies it again.
func (v *verifier) readLent(ctx context.Context, l lender, after, end eventstore.Position) ([]eventstore.RecordedEvent, []bool, error) {
	evs := make([]eventstore.RecordedEvent, 0, end-after)
	left := make([]bool, 0, end-after)
	var (
		opening error // kept apart from the scan's errors, worded as the decorator words it
		named   []uuid.UUID
		n       uint64
	)
	err := l.Scan(ctx, after, end, eventstore.Filter{}, func(e *eventstore.RecordedEvent) error {
		if v.leaves(e, &named) {
			kept := *e
			kept.Data = nil
			evs, left = append(evs, kept), append(left, true)
			n++
			return nil
		}
		data, err := v.src.own(e.Data)
		if err != nil {
			opening = openError(e, err)
			return opening
		}
		kept := *e
		kept.Data = data
		evs, left = append(evs, kept), append(left, false)
		return nil
	})
	v.factsLeft.Add(n)
	switch {
	case opening != nil:
		return nil, nil, opening
	case err != nil:
		return nil, nil, fmt.Errorf("read the log: %w", err)
	}
	return evs, left, nil
}

// openError is a failure to open an event's personal fields, worded as
// the sealing decorator words it.
func openError(e *eventstore.RecordedEvent, err error) error {
	return fmt.Errorf("read the log: open event %s at position %d: %w", e.ID, e.Position, err)
}

// decode decodes the event's data for the register's fold, and an opening
// or a step decision, ahead of the fold, on every core: they are
// functions of the event alone (the decisions for the situations'
// states, which the plan names, are decoded by prepare).
func (v *verifier) decode(e *eventstore.RecordedEvent, d *decoded) {
	ofSituation := strings.HasPrefix(e.Stream, situation.StreamPrefix)
	if ofSituation && e.Type == situation.TypeStepDecided {
		// One scan for the comparison and, most often, the register.
		var g stepRead
		if d.step = decodeStepRead(e.Data, &g); g.ok {
			d.register = register.DecodedStep(g.read)
		} else {
			d.register = register.Decode(e)
		}
		return
	}
	d.register = register.Decode(e)
	if ofSituation && e.Type == situation.TypeOpened {
		d.opening = decodeOpening(e.Data)
	}
}
