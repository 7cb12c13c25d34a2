package situations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// Opening is what handling a trigger did for one situation kind.
type Opening struct {
	Kind     string
	ID       uuid.UUID
	Opened   bool   // false: out of its window, not triggered, or already open
	Why      string // when not opened
	Position eventstore.Position
}

// HandleTrigger opens every situation the event triggers. It is idempotent:
// the situation's id comes from its kind and the trigger, and its events'
// ids from the situation, so a redelivered trigger appends only duplicates.
// Decisions are taken as of the trigger's recording time (not the time of
// processing), so a replay takes the same ones.
func (s *Service) HandleTrigger(ctx context.Context, ev eventstore.RecordedEvent) ([]Opening, error) {
	sits := s.cat.Situations(ev.Type)
	if len(sits) == 0 {
		return nil, nil
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		return nil, fmt.Errorf("trigger %s (%s): data is not a JSON object: %w", ev.ID, ev.Type, err)
	}
	// The register must have folded the trigger itself (and everything the
	// caller appended before) so that the facts are those at the trigger,
	// and every decision written before about the persons read, so that
	// they count (see wait.go).
	people, err := s.gather(ctx, ev.Position, data)
	if err != nil {
		return nil, err
	}
	registerPos := s.register.Position()

	var out []Opening
	for _, sit := range sits {
		o, err := s.open(ctx, sit, ev, data, people, registerPos)
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *Service) open(ctx context.Context, sit *catalogue.Situation, ev eventstore.RecordedEvent, data map[string]any, people map[string]catalogue.Person, registerPos eventstore.Position) (Opening, error) {
	id := situation.ID(sit.ID, ev.ID)
	o := Opening{Kind: sit.ID, ID: id}
	eventDate, err := sit.EventDate(data)
	if err != nil {
		return o, fmt.Errorf("trigger %s: %w", ev.ID, err)
	}
	in := catalogue.Input{EventType: ev.Type, EventID: ev.ID.String(), Data: data, EventDate: eventDate, People: people}
	if ok, err := catalogue.Match(sit, in); err != nil {
		return o, fmt.Errorf("trigger %s: %w", ev.ID, err)
	} else if !ok {
		o.Why = "the trigger condition does not hold"
		return o, nil
	}
	decider := firstPersonID(data)
	in.Today = ev.Metadata.RecordedAt.In(s.location(decider, data, people))
	if ok, err := catalogue.InWindow(sit, eventDate, in.Today); err != nil {
		return o, err
	} else if !ok {
		o.Why = fmt.Sprintf("the life event of %s is older than the %d-day window", eventDate, sit.WindowDays)
		// A death reported late opens no situation (and is not decided:
		// the parameters of long ago may be unknown), yet it still ends
		// the deceased's waiting drafts.
		for _, person := range personIDs(data) {
			if people[person].Dead {
				d := catalogue.Decision{Situation: sit.ID, Title: sit.Title}
				if err := s.withdrawDraftsOf(ctx, person, sit.ID, ev, d, people); err != nil {
					return o, err
				}
			}
		}
		return o, nil
	}
	d, err := catalogue.Decide(sit, in)
	if errors.Is(err, catalogue.ErrNotTriggered) {
		o.Why = "the trigger condition does not hold"
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("decide %s for trigger %s: %w", sit.ID, ev.ID, err)
	}
	// What the consequences read beyond the families must show the
	// decisions written before this one (not this one's own).
	afterUpTo := s.written.upTo(readAfter(d))
	if p, ok := people[d.Applicant]; ok && p.Dead {
		o.Why = "the person has died: no new situation is opened"
		return o, nil
	}
	opened := situation.Opened{
		SituationID: id, Kind: sit.ID, Title: sit.Title, PersonID: d.Applicant, Participants: d.Participants,
		Trigger: situation.Trigger{EventID: ev.ID, Type: ev.Type, Stream: ev.Stream, Position: ev.Position,
			EventDate: eventDate, Data: ev.Data},
		CatalogueVersion: s.cat.Version(), CatalogueHash: s.cat.Hash(),
		RegisterPosition: registerPos, Parameters: d.Parameters, Facts: people, OpenedAt: in.Today,
	}
	meta := eventstore.Metadata{
		OccurredAt: in.Today, CorrelationID: correlationOf(ev), CausationID: ev.ID.String(),
		Actor: "saga:" + sit.ID, CatalogueVersion: s.cat.Version(),
	}
	events, err := toEvents(situation.Open(opened, d.Steps, in.Today), meta)
	if err != nil {
		return o, err
	}
	res, err := s.store.Append(ctx, situation.Stream(id), eventstore.NoStream, events...)
	switch {
	case errors.Is(err, eventstore.ErrWrongExpectedRevision):
		// Opened before with other content (e.g. under an earlier catalogue):
		// a situation is never opened twice for the same trigger.
		o.Why = "already open"
	case err != nil:
		return o, fmt.Errorf("open %s for trigger %s: %w", sit.ID, ev.ID, err)
	default:
		s.wrote(res.Position, decided(opened, d)...)
		o.Opened, o.Position = res.Duplicates < len(events), res.Position
		if !o.Opened {
			o.Why = "already open"
		}
	}
	// Opened now or before, its consequences for the other situations may
	// not all have been recorded (a crash in between): they are repeated,
	// which records nothing twice.
	if err := s.waitFor(ctx, afterUpTo); err != nil {
		return o, err
	}
	if err := s.after(ctx, id, sit.ID, ev, d, people); err != nil {
		return o, fmt.Errorf("%s for trigger %s: %w", sit.ID, ev.ID, err)
	}
	return o, nil
}

// people gathers the facts of every person the event names, with their
// families: everything a rule about them may read.
func (s *Service) people(data map[string]any) map[string]catalogue.Person {
	out := map[string]catalogue.Person{}
	for _, id := range personIDs(data) {
		for pid, p := range s.register.Family(id) {
			out[pid] = p
		}
	}
	return out
}

// personIDs lists the UUIDs among the event's fields (person_id,
// mother_id, spouse_ids...), in a stable order.
func personIDs(data map[string]any) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(v any) {
		if s, ok := v.(string); ok {
			if _, err := uuid.Parse(s); err == nil && !seen[s] {
				seen[s] = true
				ids = append(ids, s)
			}
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := data[k].(type) {
		case []any:
			for _, e := range v {
				add(e)
			}
		case map[string]any:
			for id := range v {
				add(id)
			}
		default:
			add(v)
		}
	}
	return ids
}

// firstPersonID is the person whose time zone dates the decision: the
// event's person, mother or first spouse.
func firstPersonID(data map[string]any) string {
	for _, k := range []string{"person_id", "mother_id"} {
		if s, ok := data[k].(string); ok {
			return s
		}
	}
	if l, ok := data["spouse_ids"].([]any); ok && len(l) > 0 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

// location is the time zone the event names (a birth's) or the person's,
// from the facts just gathered when they hold the person (rather than a
// second read of the register).
func (s *Service) location(person string, data map[string]any, people map[string]catalogue.Person) *time.Location {
	if name, _ := data["time_zone"].(string); name != "" {
		if loc, ok := loadLocation(name); ok {
			return loc
		}
	}
	if p, ok := people[person]; ok {
		if p.TimeZone != "" {
			if loc, ok := loadLocation(p.TimeZone); ok {
				return loc
			}
		}
		return time.UTC
	}
	return s.locationOf(person)
}

func correlationOf(ev eventstore.RecordedEvent) string {
	if ev.Metadata.CorrelationID != "" {
		return ev.Metadata.CorrelationID
	}
	return ev.ID.String()
}
