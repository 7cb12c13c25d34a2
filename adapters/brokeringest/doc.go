// Package brokeringest receives registry events from a message broker:
// CloudEvents published on NATS JetStream, consumed through a Watermill
// router (github.com/ThreeDotsLabs/watermill-nats/v2) and handed to the same
// ingest core as POST /v1/events (ingest.Submitter), so that validation,
// ownership of event types, (source, id) idempotency and the durable append
// are one code path whichever way an event comes.
//
// # Messages
//
// A registry publishes on its own subject, "registries.<registry>.events" by
// default, where <registry> is the last part of its CloudEvents source:
// urn:registry:civil-status publishes on registries.civil-status.events.
// The payload is one CloudEvent in structured JSON mode (header
// Content-Type: application/cloudevents+json, or no Content-Type at all, as
// in the CloudEvents NATS binding) or an atomic batch of up to 1,000
// (Content-Type: application/cloudevents-batch+json), at most 1 MiB: exactly
// the bodies of POST /v1/events. Setting Nats-Msg-Id to the event's id lets
// the broker drop a resend within its duplicate window; the orchestrator
// recognises resends in any case.
//
// # Outcomes
//
//   - Stored: the events are appended durably (or recognised as resends)
//     and folded into the register; only then is the message acknowledged
//     (AckSync: the broker has confirmed the acknowledgement), and the
//     work-queue stream forgets it.
//   - Refused for what it is (what POST /v1/events answers with 400, 403,
//     413 or 415): the message is published unchanged, with its headers, to
//     "registries.<registry>.dead-letter" (stream REGISTRY_DEAD_LETTERS), with
//     the reason in headers: Dead-Letter-Reason (words: the detail and the
//     first field errors), Dead-Letter-Problem (the RFC 9457 problem as
//     JSON, with pointers into the payload), Dead-Letter-Status,
//     Dead-Letter-Reasons (machine reasons such as future_date, not_owner),
//     Dead-Letter-Subject, -Stream, -Sequence, -Deliveries and -Time. Once
//     the broker has stored the dead letter, the message is acknowledged and
//     the messages after it keep flowing. A batch is refused whole.
//   - Not stored for a passing reason (the event store overloaded or
//     closed, the call cancelled): the message is refused (Nak) with a delay
//     that doubles from Config.RetryDelay up to Config.MaxRetryDelay, and is
//     delivered again; nothing is lost and nothing is dead-lettered. A
//     message whose only fault is naming a person not registered yet is
//     treated the same way for Config.UnknownPersonDeliveries deliveries
//     (the registering event may be on its way on another registry's
//     subject), then dead-lettered.
//
// A message whose acknowledgement is lost comes again and is answered as a
// duplicate; its dead letter, if any, carries the message's stream and
// sequence as Nats-Msg-Id, so the broker stores it once.
//
// # Order
//
// With Config.Concurrency 1 (the default) messages are handled one at a
// time in the order of the stream, which keeps each registry's order of
// publication: an event may depend on the one before it (a birth, then the
// child's move). More concurrency raises the throughput of one-event
// messages, but one message may then overtake another. Batches keep their
// order and atomicity at any concurrency, and are the way to send many
// events fast (see the benchmark in bench_test.go).
//
// # Who may send as which registry
//
// Over HTTP a registry proves who it is with a bearer token whose subject is
// its source. On the broker the subject is the credential: the broker, not
// the orchestrator, authenticates each registry's connection and lets it
// publish only on its own subject, and the orchestrator requires every
// event's source to be the registry its subject names (urn:registry:<name>
// for registries.<name>.events; a mismatch is dead-lettered as 403
// source_mismatch, as a token/source mismatch is refused over HTTP) and
// the type to be one that registry owns (403 not_owner). The broker-side
// part is configuration, in production:
//
//   - one NATS user per registry (an NKey, or a JWT user of the registries'
//     account in operator mode), allowed to publish only
//     "registries.<name>.events" and to subscribe only to its own inbox
//     prefix (nats.CustomInboxPrefix("_INBOX_<name>")), so that it cannot
//     read anyone's deliveries either;
//   - one user for lifesituations, allowed to publish the JetStream API
//     calls it needs, its acknowledgements and the dead letters, and to
//     subscribe to its own inbox prefix, DefaultInboxPrefix, where its
//     consumer delivers (Config.InboxPrefix);
//   - no one else may publish on "registries.>".
//
// testdata/nats-server.conf is such a configuration; the tests start a
// nats-server with it and check that a registry cannot publish as another
// and that lifesituations runs with exactly those permissions. With
// JetStream clustered (three servers, stream replicas 3), provision the
// streams beforehand and set Config.SkipProvision.
package brokeringest
