package embedded

import "github.com/cockroachdb/pebble"

// quietLogger drops Pebble's routine messages (such as the WAL replay
// report at every open); errors still reach the log through the listener.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf("event store: "+format, args...)
}

// eventListener logs what an operator must hear about: failed background
// work (flushes, compactions) and a disk too slow to answer.
func eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			pebble.DefaultLogger.Infof("event store: background error: %s", err)
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			pebble.DefaultLogger.Infof("event store: %s", info)
		},
	}
}
