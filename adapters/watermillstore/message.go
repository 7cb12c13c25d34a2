package watermillstore

import (
	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/domain/eventstore"
)

// MessageOf is the message a Subscriber delivers for a stored event, for
// consumers that receive events by other means (a persistent subscription
// of the store's server) and run the same Watermill handler middleware on
// them. The message has no context yet.
func MessageOf(ev eventstore.RecordedEvent) *message.Message { return toMessage(ev) }
