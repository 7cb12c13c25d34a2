package situations

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// AgencyRule is how the simulated agency decides a submitted draft.
type AgencyRule func(step catalogue.StepDecision, fields map[string]any) (situation.Outcome, []catalogue.Reason)

// GrantEverything is the default simulated agency: every complete
// application is granted.
func GrantEverything(catalogue.StepDecision, map[string]any) (situation.Outcome, []catalogue.Reason) {
	return catalogue.OutcomeGranted, nil
}

// Timers fires what the clock makes due: reminders and expiry of open
// drafts, and the simulated agencies' decisions on submitted drafts after
// their delay. It folds situation events into an index of what is pending,
// so a tick looks only at pending work, never at every situation.
type Timers struct {
	svc         *Service
	agencyDelay time.Duration
	rule        AgencyRule

	mu      sync.Mutex
	drafts  map[uuid.UUID]*openDraft
	pending map[uuid.UUID]*submitted
	// pendingDecisions keeps each draft's decision until the agency has
	// decided it: the agency's rule reads it.
	pendingDecisions map[uuid.UUID]catalogue.StepDecision
	position         eventstore.Position
	tick             sync.Mutex
}

type openDraft struct {
	situation, draft uuid.UUID
	applicant        string
	deadline         string
	reminders        []string
	sent             map[string]bool
}

type submitted struct {
	situation, draft uuid.UUID
	decision         catalogue.StepDecision
	fields           map[string]any
	due              time.Time
}

// NewTimers returns the timers of a service; agencies decide agencyDelay
// after a confirmation, by rule (GrantEverything when nil).
func NewTimers(svc *Service, agencyDelay time.Duration, rule AgencyRule) *Timers {
	if rule == nil {
		rule = GrantEverything
	}
	return &Timers{svc: svc, agencyDelay: agencyDelay, rule: rule,
		drafts: map[uuid.UUID]*openDraft{}, pending: map[uuid.UUID]*submitted{},
		pendingDecisions: map[uuid.UUID]catalogue.StepDecision{}}
}

// Apply folds one situation event into the index.
func (t *Timers) Apply(ev eventstore.RecordedEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() { t.position = max(t.position, ev.Position) }()
	switch ev.Type {
	case situation.TypeStepDecided:
		var e situation.StepDecided
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		if e.Decision.Outcome == catalogue.OutcomeDrafted {
			t.drafts[e.StepID] = &openDraft{situation: e.SituationID, draft: e.StepID, applicant: e.Decision.Applicant,
				deadline: e.Decision.Deadline, reminders: e.Decision.Reminders, sent: map[string]bool{}}
			t.pendingDecisions[e.StepID] = e.Decision
		}
	case situation.TypeDraftReminded:
		var e situation.DraftReminded
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		if d, ok := t.drafts[e.DraftID]; ok {
			d.sent[e.Due] = true
		}
	case situation.TypeDraftConfirmed:
		var e situation.DraftConfirmed
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		delete(t.drafts, e.DraftID)
		t.pending[e.DraftID] = &submitted{situation: e.SituationID, draft: e.DraftID,
			decision: t.pendingDecisions[e.DraftID], fields: e.Fields, due: e.At.Add(t.agencyDelay)}
	case situation.TypeDraftDeclined, situation.TypeDraftExpired, situation.TypeDraftWithdrawn:
		var e struct {
			DraftID uuid.UUID `json:"draft_id"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		delete(t.drafts, e.DraftID)
		delete(t.pendingDecisions, e.DraftID)
		// A submitted draft withdrawn (its applicant died): the agency's
		// decision is no longer awaited.
		delete(t.pending, e.DraftID)
	case situation.TypeApplicationDecided:
		var e situation.ApplicationDecided
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		delete(t.pending, e.DraftID)
		delete(t.pendingDecisions, e.DraftID)
	}
	return nil
}

// Position is the last situation event folded.
func (t *Timers) Position() eventstore.Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.position
}

type action struct {
	situation, draft uuid.UUID
	kind             string // remind, expire, decide
	due              string
	sub              *submitted
}

// Tick fires everything due at the clock's time. Dates are the applicant's
// local dates: a draft whose deadline is 1 March expires once 2 March has
// begun where its applicant lives.
func (t *Timers) Tick(ctx context.Context) error {
	t.tick.Lock()
	defer t.tick.Unlock()
	now := t.svc.clock.Now()
	var todo []action
	t.mu.Lock()
	for _, d := range t.drafts {
		today := now.In(t.svc.locationOf(d.applicant)).Format(time.DateOnly)
		if d.deadline != "" && today > d.deadline {
			todo = append(todo, action{situation: d.situation, draft: d.draft, kind: "expire"})
			continue
		}
		for _, r := range d.reminders {
			if r <= today && !d.sent[r] {
				todo = append(todo, action{situation: d.situation, draft: d.draft, kind: "remind", due: r})
			}
		}
	}
	for _, p := range t.pending {
		if !now.Before(p.due) {
			todo = append(todo, action{situation: p.situation, draft: p.draft, kind: "decide", sub: p})
		}
	}
	t.mu.Unlock()
	// A stable order keeps runs reproducible.
	sort.Slice(todo, func(i, j int) bool {
		a, b := todo[i], todo[j]
		if a.draft != b.draft {
			return a.draft.String() < b.draft.String()
		}
		return a.due < b.due
	})
	for _, a := range todo {
		var err error
		switch a.kind {
		case "expire":
			_, err = t.svc.Expire(ctx, a.situation, a.draft)
		case "remind":
			_, err = t.svc.Remind(ctx, a.situation, a.draft, a.due)
		case "decide":
			outcome, reasons := t.rule(a.sub.decision, a.sub.fields)
			_, err = t.svc.AgencyDecide(ctx, a.situation, a.draft, a.sub.decision.Agency, outcome, reasons)
		}
		if err != nil {
			return fmt.Errorf("timer %s of draft %s: %w", a.kind, a.draft, err)
		}
	}
	return nil
}

// locationOf is a person's time zone from the register (UTC if unknown).
func (s *Service) locationOf(person string) *time.Location {
	if p, ok := s.register.Person(person); ok && p.TimeZone != "" {
		if loc, err := time.LoadLocation(p.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}
