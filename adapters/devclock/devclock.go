// Package devclock is the development-mode manual clock: it persists its
// time in the data directory (time never goes back, even across restarts)
// and, after moving, waits until the due timers it woke have been handled so
// that a test can read their effects from the very next request.
package devclock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lifesituations/domain/clock"
)

const fileName = "manual-clock"

// Clock is a persisted manual clock.
type Clock struct {
	*clock.Manual
	path   string
	settle func(ctx context.Context) error
}

// Open loads the clock persisted in dataDir; a new data directory's clock
// starts at start. A restart goes on from where the clock was, not from the
// wall clock: a scenario set in the past stays there.
func Open(dataDir string, start time.Time) (*Clock, error) {
	path := filepath.Join(dataDir, fileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		saved, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
		if perr != nil {
			return nil, fmt.Errorf("devclock: %s holds %q, not an RFC 3339 time: %w", path, b, perr)
		}
		start = saved
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, fmt.Errorf("devclock: read %s: %w", path, err)
	}
	c := &Clock{Manual: clock.NewManual(start.UTC()), path: path, settle: func(context.Context) error { return nil }}
	if err := c.persist(start); err != nil {
		return nil, err
	}
	return c, nil
}

// OnSettle sets what SetClock waits for after moving the clock (for example
// "every subscription has caught up with the log").
func (c *Clock) OnSettle(fn func(ctx context.Context) error) { c.settle = fn }

// SetClock parses now (RFC 3339), moves the clock, persists it and waits for
// the system to settle. It answers the new time.
func (c *Clock) SetClock(r *http.Request, now string) (string, error) {
	t, err := time.Parse(time.RFC3339, now)
	if err != nil {
		return "", fmt.Errorf("now must be an RFC 3339 instant with offset, e.g. 2026-05-01T00:00:00Z: %q", now)
	}
	if err := c.persist(t); err != nil {
		return "", err
	}
	if err := c.Set(t.UTC()); err != nil {
		return "", err
	}
	if err := c.settle(r.Context()); err != nil {
		return "", fmt.Errorf("devclock: waiting for due timers: %w", err)
	}
	return c.Now().Format(time.RFC3339), nil
}

// persist writes t before the clock moves so that a crash never lets time go
// back on restart.
func (c *Clock) persist(t time.Time) error {
	if t.Before(c.Now()) {
		return fmt.Errorf("time never goes back: the clock is at %s", c.Now().Format(time.RFC3339))
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(t.UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		return fmt.Errorf("devclock: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return fmt.Errorf("devclock: rename %s: %w", tmp, err)
	}
	return nil
}
