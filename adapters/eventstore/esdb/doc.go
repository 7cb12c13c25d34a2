// Package esdb is the EventStoreDB / KurrentDB implementation of the
// event-store port (lifesituations/domain/eventstore), through the gRPC
// client github.com/EventStore/EventStore-Client-Go/v4 (v4.2.0). It is
// the store for deployments that outgrow one machine: a three-node
// cluster (docs/deploy/eventstoredb.md), competing workers on persistent
// subscriptions.
//
// Open(ctx, "esdb://...") connects. The shared contract suite
// (adapters/eventstore/storetest, with AppendManyInOrder) runs against a
// real server when LIFESITUATIONS_ESDB_URL is set, and says it skipped
// otherwise; in CI it runs against the in-process test double esdbdouble,
// which exercises the adapter's mapping and proves nothing about the
// server (see esdbdouble's documentation). When this was written, no run
// against a real server had been made.
//
// # Mapping
//
//	port                         EventStoreDB
//	stream, revision             stream, event number (0-based, the same)
//	Event.ID                     event id (the port's UUID, unchanged)
//	Event.Type                   event type; types starting with "$" are refused (they are the server's)
//	Event.Data                   data, content type application/json
//	Event.SchemaVersion,         the event's metadata: JSON {"schema_version", "occurred_at", "source",
//	  Metadata                     "source_event_id", "correlation_id", "causation_id", "actor",
//	                               "catalogue_version", "extra"}, plus "$correlationId"/"$causationId"
//	                               for the server's own projections
//	Metadata.RecordedAt          the server's "created" stamp (or the store's clock, WithClock)
//	Any / NoStream /             any / no_stream / stream_exists / revision: the port checks the
//	  StreamExists / Exact(n)      expectation itself (after its duplicate check, see below) and
//	                               writes with the exact revision it read, so the server decides races
//	ReadStream                   read of the stream, forwards or backwards ("$" streams refused)
//	ReadAll, LastPosition        read of $all, forwards (backwards for the last event)
//	SubscribeAll                 catch-up subscription to $all with a server-side filter
//	SubscribePersistent (extra)  persistent subscription to $all, Pinned consumer strategy
//
// Streams with names starting with "$" (the server's), MarkerStreamPrefix
// and KeyStreamPrefix (the adapter's) are refused by Append and
// ReadStream. The persons' keys of personal data (KeyStore, keys.go) are
// kept one per stream under KeyStreamPrefix, erased by a tombstone.
//
// # Positions
//
// The port's Position is dense: 1 for the first event of the log, then one
// more per event, so that a checkpoint is a count and a gap is visible.
// EventStoreDB's $all position is a pair (commit, prepare) of byte
// offsets in its transaction log: sparse, growing by the size of each
// record, with the server's own records (system events, links written by
// projections, the adapter's markers) in between. Neither fits in the
// other: a commit position alone is not even unique per event (the events
// of one append may share it).
//
// So the adapter numbers the port's events itself. An event of $all is
// the port's when neither its stream nor its type starts with "$" and its
// stream is not a marker; its Position is its ordinal among those events
// in $all order. The numbering is a pure function of $all: every adapter
// instance, on any node, at any time, gives an event the same Position,
// and the order of Positions is the order of $all. A position index in
// each instance (index.go) follows $all with a filtered catch-up
// subscription from the start, keeps the (commit, prepare) of the last
// 65 536 ordinals and an anchor every 1 024 before them, and maps both
// ways; a Position older than the recent window costs a read of $all
// from the anchor (at most 1 024 of the port's events, cached per
// segment).
//
// What this costs and where it stops:
//   - Open reads $all once from the start (the server filters system
//     events and markers out): at national scale, years of events take
//     long to read at every start of a process. Persisting the anchors in
//     a stream of their own would let an instance start from the last
//     one; it is not built.
//   - An Append returns once the instance's index has numbered its last
//     event (a few milliseconds behind the write, the time of a live
//     subscription), and a read of another instance's fresh event waits
//     for the same.
//   - The numbering holds as long as $all is not rewritten: an event
//     removed by a scavenge (deleted or truncated stream, $maxAge,
//     $maxCount) renumbers every later one. The adapter deletes only key
//     streams (an erasure's tombstone), whose events are not the port's
//     and take no position; nothing else may delete or set such metadata
//     on the port's streams, nor on its markers.
//   - Any other application writing events of its own (types without "$")
//     to the same database takes positions in the numbering: give
//     lifesituations a database of its own.
//   - ReadAll with a filter reads the events in between as well: the Go
//     client v4.2.0 sends no server-side filter on a read of $all, and the
//     count of the events in between is what the positions are. Catch-up
//     and persistent subscriptions do filter on the server.
//
// # Event ids: durable idempotency
//
// EventStoreDB deduplicates event ids in two ways, neither enough: for an
// append with an exact expected revision that is behind the stream, it
// compares the ids at the revisions the append would have written
// (durable, but only for a retry with the same expectation); for an append
// expecting any revision it looks in a bounded cache in memory, lost on
// restart. The port wants an event id stored at most once, forever,
// whatever the retry expects.
//
// So each event id has a marker stream, MarkerStreamPrefix + id, holding
// intents (events of type "$lifesituations-append-intent"): before an
// append writes an event, it appends to the event's marker stream an
// intent naming the stream, the revision the event will take, and the
// revision its append starts at; the first intent of an id is written
// expecting no stream, the next ones expecting the marker's last revision
// (so two appends of one id cannot both pass unnoticed). Then the append
// writes its events expecting exactly the revision it planned on. Since
// every write of an event is preceded by an intent saying exactly where it
// lands, an event is stored if and only if one of its intents is verified:
// the event at that stream and revision has that id.
//
// An append: reads the stream's head; reads the markers of its events
// (the first attempt skips this when the expectation holds: it writes the
// intents expecting no marker stream, which succeeds only for ids never
// seen); classifies each intent:
//   - its slot (stream, revision) is filled: by this event (stored) or by
//     another (that append never happened);
//   - its append's first slot is filled by another event: it never
//     happened (an append is all or nothing);
//   - its slot is free and it is for this stream: it may still land, but
//     only where this append would write (same expected revision), so the
//     server lets exactly one of the two through and a retry finds the
//     other;
//   - its slot is free and it is for another stream: it may still land
//     there. The append waits, polling, until the slot fills or the intent
//     has been pending for the settle time (WithIntentTimings, default
//     1 min), after which it is dead: an append writes its events within
//     the write window (default 5 s) of its intents or gives up. This is
//     the one place where time matters, and only for one event id appended
//     to two different streams (which deterministic ids rule out in
//     lifesituations).
//
// Then, as the port says: every event stored is a no-op whatever the
// expectation; otherwise the expectation is checked, the new events' intents
// written, the events written. A conflict at the server (another writer
// moved the stream) starts the append again; this process's appends to one
// stream are serialised so that they do not race each other. A lost
// acknowledgement, a crash between intents and events, a server restart:
// a retry finds the events stored or writes them once. The cost is one
// extra stream and one extra write per event, and two reads per append
// (the head, and the last event written for its position), more when an
// id has a history.
//
// AppendMany checks every part first (reads only, with the heads the
// earlier parts would leave) and fails without writing when one does not
// hold; then it writes the parts in order. EventStoreDB writes one stream
// per append, so a concurrent writer or a failure between parts leaves a
// prefix written, which a retry of the whole request completes (the
// written parts are duplicates).
//
// # Subscriptions
//
// SubscribeAll maps the port's filter onto one server-side filter (stream
// prefixes, else type prefixes, else the exclusion of system events) and
// checks the rest on each event; it numbers each event through the index.
// When the connection drops it subscribes again from the last event (or
// checkpoint) it saw, so the handler sees no gap and no repeat.
//
// SubscribePersistent is for the partitioned workers: a persistent
// subscription group to $all with the Pinned strategy, at least once.
//
// # Operating notes
//
//   - Connect with the default node preference (leader): the adapter reads a
//     stream's head before it writes, and a follower's head may lag (the
//     write then conflicts and is tried again until the follower catches up).
//   - One append is one EventStoreDB write, bounded by the server's
//     MaxAppendSize (1 MiB by default).
//   - Reads of $all need the right to read $all (the admin user, or an ACL
//     granting it).
//
// # The client library
//
// The client v4.2.0 closes itself for good when a discovery of the node
// fails (the server unreachable for longer than maxDiscoverAttempts ×
// discoveryInterval, 10 × 100 ms by default: raise them in the connection
// string for a cluster that may fail over slowly), and a call waiting on
// it at that moment blocks forever. Every call goes through Store.guard,
// which returns on the caller's context or Close whatever the library
// does, recovers the library's panics, and replaces a client the library
// has given up by a new one.
package esdb
