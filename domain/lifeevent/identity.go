package lifeevent

import "github.com/google/uuid"

// EventIDNamespace is the UUIDv5 namespace of life event ids. It is fixed
// forever: changing it would turn every resent event into a new one.
var EventIDNamespace = uuid.MustParse("bfffab90-fd0c-41d9-98f9-5ee0ba20d140")

// EventID derives the stored event id from the idempotency key (source, id):
// UUIDv5(EventIDNamespace, source + "\n" + id). The separator is unambiguous
// because a source is a URI reference, which cannot contain a control
// character; every ingestion path (HTTP, broker) must use this function so
// that a resend is recognised whichever way it arrives.
func EventID(source, id string) uuid.UUID {
	return uuid.NewSHA1(EventIDNamespace, []byte(source+"\n"+id))
}

// StreamPrefix starts the name of every person stream.
const StreamPrefix = "person-"

// PersonStream is the stream holding the life facts of one person.
func PersonStream(person uuid.UUID) string { return StreamPrefix + person.String() }
