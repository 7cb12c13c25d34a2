// Package esdbdouble is a TEST DOUBLE of an EventStoreDB/KurrentDB node: an
// in-process gRPC server built on the server interfaces that the client
// module github.com/EventStore/EventStore-Client-Go/v4 ships
// (protos/streams, protos/persistent, protos/serverfeatures,
// protos/gossip). It is not EventStoreDB and proves nothing about one: it
// lets the esdb adapter's mapping (requests it builds, responses it
// decodes, the rules it relies on) run in CI where no server can be
// installed. Whatever passes against the double must still pass against a
// real server (LIFESITUATIONS_ESDB_URL) before it counts.
//
// What the double implements, following the server's documented behaviour:
//   - Streams.Append with each expected revision (any, no stream, stream
//     exists, exact), EventStoreDB's idempotency rules (durable for an
//     exact expectation behind the stream, an in-memory window for any,
//     lost on Restart), wrong-expected-version replies;
//   - Streams.Tombstone (hard delete: a "$streamDeleted" event, then the
//     server's stream-deleted error on every read, append or tombstone of
//     the stream; tombstone.go);
//   - Streams.Read of a stream (forwards, backwards, not found) and of $all
//     (forwards from a position inclusive, backwards), with sparse
//     byte-offset-like commit/prepare positions and system events in
//     system streams;
//   - catch-up subscriptions to $all (from start, end or a position,
//     exclusive) with server-side filters on stream names or event types
//     (prefixes or a regular expression) and checkpoints, then live;
//   - persistent subscriptions to $all (create, delete, read with ack and
//     nack) with the Pinned, RoundRobin and DispatchToSingle strategies,
//     in memory;
//   - ServerFeatures.GetSupportedMethods and Gossip.Read (one node, leader),
//     what the client calls when it connects.
//
// It is insecure (no TLS, no authentication): connect with
// esdb://127.0.0.1:PORT?tls=false, which URL returns.
package esdbdouble

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/persistent"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
)

// Fault is a failure the double injects into an append.
type Fault int

const (
	// NoFault: the append runs normally.
	NoFault Fault = iota
	// FailBeforeWrite: the append fails as unavailable and writes nothing
	// (a crash or a lost connection before the server took the write).
	FailBeforeWrite
	// FailAfterWrite: the append is written, then the client is told the
	// server is unavailable (a lost acknowledgement).
	FailAfterWrite
)

// Option configures Start.
type Option func(*config)

type config struct {
	systemEvery int
	now         func() time.Time
}

// WithSystemEvents makes the double write a system event (to a "$stats-"
// stream, as the real server may) after every n appends, so that $all
// holds events a client must skip between its own.
func WithSystemEvents(n int) Option { return func(c *config) { c.systemEvery = n } }

// Double is a running double of one EventStoreDB node.
type Double struct {
	addr  string
	store *store
	subs  *persistentServer

	mu     sync.Mutex
	srv    *grpc.Server
	stop   chan struct{}
	closed bool
	faults []injected

	// sent counts the events sent to catch-up subscriptions; subscriptions
	// counts the catch-up subscriptions started.
	sent, subscriptions atomic.Int64
}

type injected struct {
	match func(stream string) bool
	fault Fault
	times int
}

// Start starts a double on a free port of 127.0.0.1.
func Start(opts ...Option) (*Double, error) {
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("esdbdouble: listen: %w", err)
	}
	d := &Double{addr: lis.Addr().String(), store: newStore(cfg.now, cfg.systemEvery)}
	d.subs = newPersistentServer(d)
	d.serve(lis)
	return d, nil
}

// URL is the connection string of the double.
func (d *Double) URL() string { return "esdb://" + d.addr + "?tls=false" }

// Addr is the double's host:port.
func (d *Double) Addr() string { return d.addr }

func (d *Double) serve(lis net.Listener) {
	srv := grpc.NewServer()
	api.RegisterStreamsServer(srv, &streamsServer{d: d})
	persistent.RegisterPersistentSubscriptionsServer(srv, d.subs)
	serverfeatures.RegisterServerFeaturesServer(srv, &featuresServer{})
	gossip.RegisterGossipServer(srv, &gossipServer{d: d})
	d.mu.Lock()
	d.srv, d.stop = srv, make(chan struct{})
	d.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

func (d *Double) stopping() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stop
}

// Restart stops the server, dropping every connection and subscription,
// and starts it again on the same address with the same log. Like a real
// restart it forgets the in-memory idempotency window of appends that
// expect any revision; persistent subscription groups (configuration and
// checkpoints) survive, their connections do not.
func (d *Double) Restart() error {
	if err := d.Down(); err != nil {
		return err
	}
	return d.Up()
}

// Down stops the server (an outage) until Up: connections are refused.
func (d *Double) Down() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fmt.Errorf("esdbdouble: closed")
	}
	if d.srv == nil {
		d.mu.Unlock()
		return nil
	}
	srv, stop := d.srv, d.stop
	d.srv = nil
	d.mu.Unlock()
	close(stop)
	srv.Stop()
	d.subs.dropConnections()
	d.store.forgetRecent()
	return nil
}

// Up starts the server again after Down, on the same address.
func (d *Double) Up() error {
	d.mu.Lock()
	up := d.srv != nil
	d.mu.Unlock()
	if up {
		return nil
	}
	lis, err := net.Listen("tcp", d.addr)
	if err != nil {
		return fmt.Errorf("esdbdouble: listen again on %s: %w", d.addr, err)
	}
	d.serve(lis)
	return nil
}

// Close stops the double.
func (d *Double) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	srv, stop := d.srv, d.stop
	d.srv = nil
	d.mu.Unlock()
	if srv != nil {
		close(stop)
		srv.Stop()
	}
	d.subs.dropConnections()
}

// InjectAppendFault makes the next times appends to a stream that match
// fail as f says.
func (d *Double) InjectAppendFault(match func(stream string) bool, f Fault, times int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = append(d.faults, injected{match: match, fault: f, times: times})
}

func (d *Double) fault(stream string) Fault {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.faults {
		in := &d.faults[i]
		if in.times > 0 && in.match(stream) {
			in.times--
			return in.fault
		}
	}
	return NoFault
}

// Stats describes the double's log, for tests that look under the adapter.
type Stats struct {
	// Records is the number of events in $all, system events included.
	Records int
	// Streams is the number of streams.
	Streams int
	// SubscriptionEvents is the number of events the double has sent to
	// catch-up subscriptions, after their server-side filters.
	SubscriptionEvents int64
	// Subscriptions is the number of catch-up subscriptions started.
	Subscriptions int64
}

// Stats returns the size of the log and what subscriptions were sent.
func (d *Double) Stats() Stats {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	return Stats{Records: len(d.store.log), Streams: len(d.store.streams), SubscriptionEvents: d.sent.Load(), Subscriptions: d.subscriptions.Load()}
}

// StreamEventIDs returns the ids of a stream's events in order, read
// directly from the double's log (not through gRPC).
func (d *Double) StreamEventIDs(stream string) []string {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	var ids []string
	for _, r := range d.store.streams[stream] {
		ids = append(ids, r.id.String())
	}
	return ids
}

// PersistentConsumers returns the number of consumers connected to a
// persistent subscription group to $all.
func (d *Double) PersistentConsumers(group string) int { return d.subs.consumers(group) }

// PersistentBacklog is how many events of a persistent subscription group
// to $all are not acknowledged yet (in flight, waiting, or not yet looked
// at by the group): 0 once its consumers have handled everything. The real
// server tells as much in its subscription statistics (GetInfo), which the
// double does not serve.
func (d *Double) PersistentBacklog(group string) int { return d.subs.backlog(group) }
