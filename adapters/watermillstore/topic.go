package watermillstore

import "lifesituations/domain/eventstore"

// Selection is what a topic subscribes to: Filter narrows what the store
// reads, Match (when set) decides exactly among what passes Filter.
type Selection struct {
	Filter eventstore.Filter
	Match  func(eventstore.RecordedEvent) bool
}

func (s Selection) selects(ev eventstore.RecordedEvent) bool {
	return s.Match == nil || s.Match(ev)
}

// TopicMapper maps a subscribed topic onto the events it delivers.
type TopicMapper func(topic string) Selection

// ExactStream is the default mapping: the topic is one stream's name. The
// store filters by the name as a stream prefix, and events of longer
// streams that share it ("topic-1" for "topic-10") are dropped here.
func ExactStream(topic string) Selection {
	return Selection{
		Filter: eventstore.Filter{StreamPrefixes: []string{topic}},
		Match:  func(ev eventstore.RecordedEvent) bool { return ev.Stream == topic },
	}
}

// StreamPrefix maps a topic onto every stream whose name starts with it:
// "person-" subscribes to all persons, "" to the whole log.
func StreamPrefix(topic string) Selection {
	if topic == "" {
		return Selection{}
	}
	return Selection{Filter: eventstore.Filter{StreamPrefixes: []string{topic}}}
}
