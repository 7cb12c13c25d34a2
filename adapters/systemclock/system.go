// Package systemclock is the one place that reads the wall clock.
package systemclock

import "time"

// Clock is the operating system's clock, in UTC.
type Clock struct{}

func (Clock) Now() time.Time { return time.Now().UTC() }
