package situations

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// AgencyRule is how the simulated agency decides a submitted draft. A tick
// decides several situations' drafts at once: the rule may be called
// concurrently.
type AgencyRule func(step catalogue.StepDecision, fields map[string]any) (situation.Outcome, []catalogue.Reason)

// GrantEverything is the default simulated agency: every complete
// application is granted.
func GrantEverything(catalogue.StepDecision, map[string]any) (situation.Outcome, []catalogue.Reason) {
	return catalogue.OutcomeGranted, nil
}

// Timers fires what the clock makes due: reminders and expiry of open
// drafts, and the simulated agencies' decisions on submitted drafts after
// their delay. It folds situation events into an index of what is pending,
// ordered by the instant each becomes due, so a tick looks only at what is
// due, never at every situation nor at every pending draft.
//
// A draft's instants are its applicant's local midnights: the time zone is
// read from the register once, at the first tick after the draft is
// folded (when the register has caught up), and again when the draft comes
// due, so an applicant who moved west is not reminded early.
type Timers struct {
	svc         *Service
	agencyDelay time.Duration
	rule        AgencyRule

	mu      sync.Mutex
	drafts  map[uuid.UUID]*openDraft
	pending map[uuid.UUID]*submitted
	// pendingDecisions keeps each draft's decision until the agency has
	// decided it: the agency's rule reads it. It is decoded when the draft
	// is confirmed.
	pendingDecisions map[uuid.UUID]pendingDecision
	// due orders the scheduled drafts and the submitted ones by the
	// instant they come due; unscheduled holds the drafts folded since the
	// last tick (their applicant's zone is not read yet), irregular those
	// whose dates are not dates, checked at every tick as they always were.
	due         dueHeap
	unscheduled map[uuid.UUID]*openDraft
	irregular   map[uuid.UUID]*openDraft
	position    eventstore.Position
	tick        sync.Mutex
}

type openDraft struct {
	situation, draft uuid.UUID
	applicant        string
	deadline         string
	reminders        []string
	sent             map[string]bool

	// expiry and remindAt are the local dates parsed (expiry the day after
	// the deadline, zero without one); zone is the applicant's zone as
	// last read; timer is the draft's place in the heap, nil when not
	// scheduled.
	expiry   date
	remindAt []date
	zone     *time.Location
	timer    *dueTimer
}

type submitted struct {
	situation, draft uuid.UUID
	decision         catalogue.StepDecision
	fields           map[string]any
	due              time.Time
	timer            *dueTimer
}

// NewTimers returns the timers of a service; agencies decide agencyDelay
// after a confirmation, by rule (GrantEverything when nil).
func NewTimers(svc *Service, agencyDelay time.Duration, rule AgencyRule) *Timers {
	if rule == nil {
		rule = GrantEverything
	}
	return &Timers{svc: svc, agencyDelay: agencyDelay, rule: rule,
		drafts: map[uuid.UUID]*openDraft{}, pending: map[uuid.UUID]*submitted{},
		pendingDecisions: map[uuid.UUID]pendingDecision{},
		unscheduled:      map[uuid.UUID]*openDraft{}, irregular: map[uuid.UUID]*openDraft{}}
}

// Apply folds one situation event into the index.
func (t *Timers) Apply(ev eventstore.RecordedEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer func() { t.position = max(t.position, ev.Position) }()
	switch ev.Type {
	case situation.TypeStepDecided:
		if e, ok := decodeStepDecidedFast(ev.Data); ok {
			if e.outcome == catalogue.OutcomeDrafted {
				// The data may be reused once folded.
				t.draftDecided(e, pendingDecision{raw: bytes.Clone(e.decision)})
			}
			return nil
		}
		var e situation.StepDecided
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		if e.Decision.Outcome == catalogue.OutcomeDrafted {
			t.draftDecided(&stepDecidedIndex{situationID: e.SituationID, stepID: e.StepID, applicant: e.Decision.Applicant,
				deadline: e.Decision.Deadline, reminders: e.Decision.Reminders}, pendingDecision{decoded: e.Decision})
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
		decision, err := t.pendingDecisions[e.DraftID].decision()
		if err != nil {
			return fmt.Errorf("timers: %s of draft %s: %w", ev.Type, e.DraftID, err)
		}
		t.dropDraft(e.DraftID)
		t.dropSubmitted(e.DraftID)
		p := &submitted{situation: e.SituationID, draft: e.DraftID,
			decision: decision, fields: e.Fields, due: e.At.Add(t.agencyDelay)}
		t.pending[e.DraftID] = p
		t.schedule(&dueTimer{at: p.due, sub: p})
	case situation.TypeDraftDeclined, situation.TypeDraftExpired, situation.TypeDraftWithdrawn:
		var e struct {
			DraftID uuid.UUID `json:"draft_id"`
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		t.dropDraft(e.DraftID)
		delete(t.pendingDecisions, e.DraftID)
		// A submitted draft withdrawn (its applicant died): the agency's
		// decision is no longer awaited.
		t.dropSubmitted(e.DraftID)
	case situation.TypeApplicationDecided:
		var e situation.ApplicationDecided
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return fmt.Errorf("timers: decode %s: %w", ev.Type, err)
		}
		t.dropSubmitted(e.DraftID)
		delete(t.pendingDecisions, e.DraftID)
	}
	return nil
}

// draftDecided indexes a draft decided. t.mu is held.
func (t *Timers) draftDecided(e *stepDecidedIndex, decision pendingDecision) {
	t.dropDraft(e.stepID)
	d := &openDraft{situation: e.situationID, draft: e.stepID, applicant: e.applicant,
		deadline: e.deadline, reminders: e.reminders, sent: map[string]bool{}}
	t.drafts[e.stepID] = d
	if d.parseDates() {
		t.unscheduled[e.stepID] = d
	} else {
		t.irregular[e.stepID] = d
	}
	t.pendingDecisions[e.stepID] = decision
}

// dropDraft forgets an open draft and its timer. t.mu is held.
func (t *Timers) dropDraft(id uuid.UUID) {
	if d, ok := t.drafts[id]; ok && d.timer != nil {
		heap.Remove(&t.due, d.timer.index)
		d.timer = nil
	}
	delete(t.drafts, id)
	delete(t.unscheduled, id)
	delete(t.irregular, id)
}

// dropSubmitted forgets a submitted draft and its timer. t.mu is held.
func (t *Timers) dropSubmitted(id uuid.UUID) {
	if p, ok := t.pending[id]; ok && p.timer != nil {
		heap.Remove(&t.due, p.timer.index)
		p.timer = nil
	}
	delete(t.pending, id)
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
	open             *openDraft
}

// Tick fires everything due at the clock's time. Dates are the applicant's
// local dates: a draft whose deadline is 1 March expires once 2 March has
// begun where its applicant lives.
func (t *Timers) Tick(ctx context.Context) error {
	t.tick.Lock()
	defer t.tick.Unlock()
	now := t.svc.clock.Now()
	t.mu.Lock()
	todo := t.collect(now)
	t.mu.Unlock()
	// A stable order keeps what each situation records reproducible.
	sort.Slice(todo, func(i, j int) bool {
		a, b := todo[i], todo[j]
		if a.draft != b.draft {
			return a.draft.String() < b.draft.String()
		}
		return a.due < b.due
	})
	return t.fire(ctx, todo, now)
}

// tickParallel bounds the situations a tick fires at once. Each firing is
// a read, a decision and a synced append: run one after another, a day's
// reminders cost one disk sync each; run together they share the store's
// group commits.
const tickParallel = 16

// fire runs the actions, those of one situation one after another in their
// order (they append to the same stream), different situations side by
// side. What failed and what was not tried stays due: the next tick tries
// again.
func (t *Timers) fire(ctx context.Context, todo []action, now time.Time) error {
	var groups [][]action
	at := map[uuid.UUID]int{}
	for _, a := range todo {
		i, ok := at[a.situation]
		if !ok {
			i = len(groups)
			at[a.situation] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], a)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		slot = make(chan struct{}, tickParallel)
	)
	for _, g := range groups {
		wg.Add(1)
		slot <- struct{}{}
		go func() {
			defer func() { <-slot; wg.Done() }()
			for i, a := range g {
				if err := t.run(ctx, a); err != nil {
					t.mu.Lock()
					for _, b := range g[i:] {
						t.retry(b, now)
					}
					t.mu.Unlock()
					mu.Lock()
					errs = append(errs, fmt.Errorf("timer %s of draft %s: %w", a.kind, a.draft, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run fires one action.
func (t *Timers) run(ctx context.Context, a action) error {
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
	return err
}

// collect takes from the index what is due at now. t.mu is held.
func (t *Timers) collect(now time.Time) []action {
	var todo []action
	for id, d := range t.unscheduled {
		delete(t.unscheduled, id)
		d.zone = t.svc.locationOf(d.applicant)
		t.scheduleDraft(d, now, false)
	}
	for _, d := range t.irregular {
		todo = d.dueAt(now, t.svc.locationOf(d.applicant), todo)
	}
	for len(t.due) > 0 && !t.due[0].at.After(now) {
		tm := heap.Pop(&t.due).(*dueTimer)
		if p := tm.sub; p != nil {
			p.timer = nil
			todo = append(todo, action{situation: p.situation, draft: p.draft, kind: "decide", sub: p})
			continue
		}
		d := tm.draft
		d.timer = nil
		// The applicant may have moved since the zone was read.
		d.zone = t.svc.locationOf(d.applicant)
		n := len(todo)
		todo = d.dueAt(now, d.zone, todo)
		if n < len(todo) && todo[n].kind == "expire" {
			continue // the draft is done unless the expiry fails
		}
		t.scheduleDraft(d, now, true)
	}
	return todo
}

// dueAt adds to todo what of the draft is due at now in zone: its expiry,
// or else the reminders not yet sent whose day has begun.
func (d *openDraft) dueAt(now time.Time, zone *time.Location, todo []action) []action {
	today := now.In(zone).Format(time.DateOnly)
	if d.deadline != "" && today > d.deadline {
		return append(todo, action{situation: d.situation, draft: d.draft, kind: "expire", open: d})
	}
	for _, r := range d.reminders {
		if r <= today && !d.sent[r] {
			todo = append(todo, action{situation: d.situation, draft: d.draft, kind: "remind", due: r, open: d})
		}
	}
	return todo
}

// scheduleDraft puts a draft in the heap at the first instant when
// something of it comes due in its zone: the local midnight that begins a
// reminder's day or the day after its deadline. After the draft came due
// (strict), only what comes after now counts: what was due is being done.
// A draft with nothing left to come stays out of the heap. t.mu is held.
func (t *Timers) scheduleDraft(d *openDraft, now time.Time, strict bool) {
	var next time.Time
	consider := func(day date) {
		at := day.midnight(d.zone)
		if (!strict || at.After(now)) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if d.deadline != "" {
		consider(d.expiry)
	}
	for i, r := range d.reminders {
		if !d.sent[r] {
			consider(d.remindAt[i])
		}
	}
	if !next.IsZero() {
		t.schedule(&dueTimer{at: next, draft: d})
	}
}

// retry makes an action that was not done due again at now, unless what
// it was for has left the index meanwhile. t.mu is held.
func (t *Timers) retry(a action, now time.Time) {
	switch {
	case a.sub != nil:
		if t.pending[a.draft] == a.sub && a.sub.timer == nil {
			t.schedule(&dueTimer{at: now, sub: a.sub})
		}
	case a.open != nil:
		d := a.open
		if t.drafts[a.draft] != d || t.irregular[a.draft] == d {
			return
		}
		if d.timer == nil {
			t.schedule(&dueTimer{at: now, draft: d})
		} else if d.timer.at.After(now) {
			d.timer.at = now
			heap.Fix(&t.due, d.timer.index)
		}
	}
}

// schedule pushes a timer and links it from what it is for. t.mu is held.
func (t *Timers) schedule(tm *dueTimer) {
	if tm.sub != nil {
		tm.sub.timer = tm
	} else {
		tm.draft.timer = tm
	}
	heap.Push(&t.due, tm)
}

// parseDates parses the deadline and reminders; false when one is not a
// date (the draft is then checked at every tick, by comparing strings).
func (d *openDraft) parseDates() bool {
	if d.deadline != "" {
		day, ok := parseDate(d.deadline)
		if !ok {
			return false
		}
		d.expiry = day.next()
	}
	d.remindAt = make([]date, len(d.reminders))
	for i, r := range d.reminders {
		day, ok := parseDate(r)
		if !ok {
			return false
		}
		d.remindAt[i] = day
	}
	return true
}

// dueTimer is a draft's or a submitted draft's place in the heap.
type dueTimer struct {
	at    time.Time
	draft *openDraft
	sub   *submitted
	index int
}

// dueHeap is a min-heap of timers by instant.
type dueHeap []*dueTimer

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	tm := x.(*dueTimer)
	tm.index = len(*h)
	*h = append(*h, tm)
}
func (h *dueHeap) Pop() any {
	old := *h
	tm := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	tm.index = -1
	return tm
}

// locationOf is a person's time zone from the register (UTC if unknown).
func (s *Service) locationOf(person string) *time.Location {
	if p, ok := s.register.Person(person); ok && p.TimeZone != "" {
		if loc, ok := loadLocation(p.TimeZone); ok {
			return loc
		}
	}
	return time.UTC
}
