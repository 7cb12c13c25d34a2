// Package lifeevent is the vocabulary of life events reported by registries:
// the six event types, who may send each, their payloads, and the rules an
// event must satisfy before it is stored. It is pure: no I/O and no clock;
// the caller passes the time and a view of the persons already known.
//
// # Subject
//
// A life event goes to the stream of its main person, its subject:
//
//	person.registered    data.person_id
//	birth.registered     data.child_id or data.mother_id (the registry chooses)
//	residence.changed    data.person_id
//	marriage.registered  one of data.spouse_ids
//	death.registered     data.person_id
//	income.reported      data.person_id
//
// Any other subject is a field error at /subject.
//
// # Known persons
//
// Every person an event names must already be known (registered or born),
// except the person of person.registered and the child of birth.registered,
// who become known through that event. A child must be born strictly after
// its mother: a birth date equal to or before the mother's is rejected.
//
// # Dates and "the future"
//
// Payload dates are civil dates in the place where the fact happened, which
// may be up to fourteen hours ahead of UTC. A date is in the future only when
// no place on Earth has reached it yet (see Today), so an event registered
// just after local midnight in Kamchatka is never refused. The event's time
// is an instant; it may be at most ClockSkew ahead of the orchestrator's
// clock, to tolerate registries whose clocks run slightly fast.
package lifeevent
