// Package clock is the only way components learn the time. Nothing reads the
// wall clock directly: a Clock is injected, so tests and benchmarks can run a
// simulated year in seconds and auditors get the same answers on replay.
package clock

import (
	"fmt"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Func adapts a function to Clock.
type Func func() time.Time

func (f Func) Now() time.Time { return f() }

// Manual is a clock that moves only when told to. Listeners registered with
// OnChange run, in registration order, each time it moves, so that timers due
// at the new time can fire.
type Manual struct {
	mu        sync.Mutex
	now       time.Time
	listeners []func(time.Time)
}

// NewManual returns a manual clock set to start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t. Time never goes back: a t before the current
// time is refused, so decisions already taken stay in the past.
func (m *Manual) Set(t time.Time) error {
	m.mu.Lock()
	if t.Before(m.now) {
		now := m.now
		m.mu.Unlock()
		return fmt.Errorf("clock: cannot move back from %s to %s", now.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	m.now = t
	listeners := append([]func(time.Time){}, m.listeners...)
	m.mu.Unlock()
	for _, l := range listeners {
		l(t)
	}
	return nil
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) error { return m.Set(m.Now().Add(d)) }

// OnChange registers a listener called with the new time after every move.
func (m *Manual) OnChange(fn func(time.Time)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, fn)
}
