// Package watermillstore runs Watermill on the event-store port: a
// message.Publisher that appends to streams and a message.Subscriber fed by
// the store's global subscription, so that situation sagas can run on a
// Watermill router with checkpoints and per-citizen partitions.
//
// A topic is a stream (by default; see TopicMapper). Publishing appends the
// messages to the topic's stream in one append; subscribing delivers the
// topic's events in log order, one message at a time, at least once, from the
// consumer group's checkpoint on.
//
// Event ids: appends are idempotent by event id and event ids are unique in
// the whole store, while Watermill keeps a message's UUID when it copies the
// message to another topic (fan-out, poison queue). So the event id is
// derived from the pair (topic, message UUID) with UUIDv5 under Namespace: a
// re-published message is an idempotent duplicate in its topic, and the same
// message published to two topics is two events. The message UUID travels in
// the event's metadata and is the delivered message's UUID again; an event
// that was not published through this package is delivered with its event
// id as UUID.
//
// The store, the publisher and the subscriber are owned by the caller:
// closing a Publisher or a Subscriber does not close the store.
package watermillstore
