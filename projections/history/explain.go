package history

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

// Kinds of what an explanation is about.
const (
	KindDraft     = "draft"
	KindGrant     = "grant"
	KindRejection = "rejection"
	KindNotice    = "notice"
)

// Explanation justifies one decision: what started it, which rules with
// which figures and facts decided it, what became of it, and the chain of
// events from the registry's to the last.
type Explanation struct {
	ID   uuid.UUID `json:"id"`
	Kind string    `json:"kind"`
	// Trigger is the registry (or calendar) event that opened the situation.
	Trigger   Event        `json:"trigger"`
	Situation SituationRef `json:"situation"`
	Step      StepRef      `json:"step"`
	// Outcome is the step's outcome now (or as of as_of); Decided the
	// outcome the decision gave.
	Outcome situation.Outcome `json:"outcome"`
	Decided catalogue.Outcome `json:"decided"`
	// DraftStatus is set for a draft.
	DraftStatus situation.DraftStatus `json:"draft_status,omitempty"`
	Catalogue   CatalogueRef          `json:"catalogue"`
	// Rules are every eligibility rule evaluated, passed or not.
	Rules []catalogue.RuleCheck `json:"rules"`
	// Reasons: the decision's, then the agency's.
	Reasons []catalogue.Reason `json:"reasons"`
	// Values are the step's computed values (incomes, thresholds...).
	Values map[string]any `json:"values"`
	// Parameters are the figures in force the step read; SituationParameters
	// those the situation's own expressions read.
	Parameters          []catalogue.ParamUse `json:"parameters"`
	SituationParameters []catalogue.ParamUse `json:"situation_parameters"`
	// Facts are the register's facts the decision read, as they stood at
	// the register position recorded.
	Facts            map[string]catalogue.Person `json:"facts"`
	RegisterPosition eventstore.Position         `json:"register_position"`
	Prefill          map[string]any              `json:"prefill"`
	// Fields are the corrections the applicant confirmed a draft with.
	Fields map[string]any `json:"fields,omitempty"`
	// Grant is set once the step is granted.
	Grant *GrantRef `json:"grant,omitempty"`
	// Withdrawal tells why a draft or grant was withdrawn.
	Withdrawal *WithdrawalRef `json:"withdrawal,omitempty"`
	// CausalChain lists the events that led to the decision and what
	// followed it, in log order, from the registry's event on.
	CausalChain []Link `json:"causal_chain"`
}

// SituationRef names the saga the decision belongs to.
type SituationRef struct {
	ID           uuid.UUID      `json:"id"`
	Kind         string         `json:"kind"`
	Title        catalogue.Text `json:"title"`
	Stream       string         `json:"stream"`
	PersonID     string         `json:"person_id"`
	Participants []string       `json:"participants"`
	EventDate    string         `json:"event_date"`
	OpenedAt     time.Time      `json:"opened_at"`
}

// StepRef is the step decided.
type StepRef struct {
	ID            uuid.UUID         `json:"id"`
	Key           string            `json:"key"`
	Path          string            `json:"path"`
	Service       string            `json:"service"`
	Title         catalogue.Text    `json:"title"`
	Agency        string            `json:"agency"`
	Mode          catalogue.Mode    `json:"mode"`
	Applicant     string            `json:"applicant"`
	Beneficiary   string            `json:"beneficiary"`
	LegalBasis    string            `json:"legal_basis"`
	Curator       catalogue.Curator `json:"curator"`
	Deadline      string            `json:"deadline,omitempty"`
	DecidedAt     time.Time         `json:"decided_at"`
	ParentStepID  uuid.UUID         `json:"parent_step_id,omitzero"`
	ExpiredStepID uuid.UUID         `json:"expired_step_id,omitzero"`
}

// CatalogueRef is the catalogue version a decision was taken with.
type CatalogueRef struct {
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// GrantRef is the registry entry a grant made.
type GrantRef struct {
	ID        uuid.UUID `json:"id"`
	EntryID   uuid.UUID `json:"entry_id"`
	Registry  string    `json:"registry"`
	GrantedAt time.Time `json:"granted_at"`
	Withdrawn bool      `json:"withdrawn"`
}

// WithdrawalRef tells why a draft or grant was withdrawn.
type WithdrawalRef struct {
	Reason      string         `json:"reason"`
	Explanation catalogue.Text `json:"explanation"`
	ReplacedBy  uuid.UUID      `json:"replaced_by,omitzero"`
}

// Link is one event of the causal chain.
type Link struct {
	EventID     uuid.UUID           `json:"event_id"`
	Type        string              `json:"type"`
	Stream      string              `json:"stream"`
	Position    eventstore.Position `json:"position"`
	RecordedAt  time.Time           `json:"recorded_at"`
	Actor       string              `json:"actor,omitempty"`
	CausationID string              `json:"causation_id,omitempty"`
	// Role says what the event is to the decision: trigger, opened,
	// parent-decided, parent-confirmed, decided, confirmed, declined,
	// reminded, expired, withdrawn, agency-decided, grant-withdrawn,
	// follow-up, notice.
	Role string `json:"role"`
}

func link(e eventstore.RecordedEvent, role string) Link {
	return Link{EventID: e.ID, Type: e.Type, Stream: e.Stream, Position: e.Position, RecordedAt: e.Metadata.RecordedAt,
		Actor: e.Metadata.Actor, CausationID: e.Metadata.CausationID, Role: role}
}

// Explain justifies the decision on a step, draft or grant (id), from the
// events recorded at or before asOf (zero: all). ErrNotFound when no step,
// draft or grant has that id (then).
func (r *Reader) Explain(ctx context.Context, id uuid.UUID, asOf time.Time) (Explanation, error) {
	last, err := r.catchUp(ctx)
	if err != nil {
		return Explanation{}, err
	}
	sitID, stepID, isGrant, ok := r.index.Locate(id)
	if !ok {
		return Explanation{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	var (
		events []eventstore.RecordedEvent
		state  situation.State
	)
	err = r.readStream(ctx, situation.Stream(sitID), last, func(e eventstore.RecordedEvent) error {
		if !recordedBy(e, asOf) {
			return nil
		}
		events = append(events, e)
		if err := state.Apply(e.Type, e.Data); err != nil {
			return fmt.Errorf("fold situation %s at %d: %w", sitID, e.Position, err)
		}
		return nil
	})
	if err != nil {
		return Explanation{}, err
	}
	step, ok := state.Step(stepID)
	if !ok || !state.IsOpen() || (isGrant && (step.Grant == nil || step.Grant.ID != id)) {
		return Explanation{}, fmt.Errorf("%s (as of %s): %w", id, asOf, ErrNotFound)
	}
	o := state.Opened
	d := step.Decision
	ex := Explanation{
		ID: id, Outcome: step.Outcome, Decided: d.Outcome,
		Situation: SituationRef{ID: o.SituationID, Kind: o.Kind, Title: o.Title, Stream: situation.Stream(o.SituationID),
			PersonID: o.PersonID, Participants: nonNil(o.Participants), EventDate: o.Trigger.EventDate, OpenedAt: o.OpenedAt},
		Step: StepRef{ID: step.ID, Key: d.Key, Path: d.Step, Service: d.Service, Title: d.Title, Agency: d.Agency, Mode: d.Mode,
			Applicant: d.Applicant, Beneficiary: d.Beneficiary, LegalBasis: d.LegalBasis, Curator: d.Curator,
			Deadline: d.Deadline, DecidedAt: step.DecidedAt, ParentStepID: step.Parent},
		Catalogue: CatalogueRef{Version: o.CatalogueVersion, Hash: o.CatalogueHash},
		Rules:     nonNil(d.Rules), Reasons: nonNil(step.Reasons), Values: object(d.Values),
		Parameters: nonNil(d.Parameters), SituationParameters: nonNil(o.Parameters),
		Facts: o.Facts, RegisterPosition: o.RegisterPosition, Prefill: object(d.Prefill),
	}
	if ex.Facts == nil {
		ex.Facts = map[string]catalogue.Person{}
	}
	switch {
	case isGrant:
		ex.Kind = KindGrant
	case step.Draft != nil:
		ex.Kind = KindDraft
	case d.Outcome == catalogue.OutcomeGranted:
		ex.Kind = KindGrant
	case d.Outcome == catalogue.OutcomeRejected:
		ex.Kind = KindRejection
	default:
		ex.Kind = KindNotice
	}
	if step.Draft != nil {
		ex.DraftStatus, ex.Fields = step.Draft.Status, step.Draft.Fields
	}
	if g := step.Grant; g != nil {
		ex.Grant = &GrantRef{ID: g.ID, EntryID: g.EntryID, Registry: g.Registry, GrantedAt: g.GrantedAt, Withdrawn: g.Withdrawn}
	}
	if w := step.Withdrawal; w != nil {
		ex.Withdrawal = &WithdrawalRef{Reason: w.Reason, Explanation: w.Explanation}
		if w.ReplacedBy != nil {
			ex.Withdrawal.ReplacedBy = w.ReplacedBy.Grant
		}
	}
	trigger, err := r.eventAt(ctx, o.Trigger.Position, o.Trigger.EventID)
	if err != nil {
		return Explanation{}, err
	}
	ex.Trigger = FromRecorded(trigger)
	ex.CausalChain, ex.Step.ExpiredStepID = chain(trigger, events, step), expiredOf(events, step.ID)
	return ex, nil
}

// eventAt reads the event at a position and checks it is the one expected.
func (r *Reader) eventAt(ctx context.Context, pos eventstore.Position, id uuid.UUID) (eventstore.RecordedEvent, error) {
	if pos == 0 {
		return eventstore.RecordedEvent{}, fmt.Errorf("the situation records no trigger position")
	}
	evs, err := r.store.ReadAll(ctx, pos-1, eventstore.Filter{}, 1)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("read the trigger at %d: %w", pos, err)
	}
	if len(evs) != 1 || evs[0].Position != pos || evs[0].ID != id {
		return eventstore.RecordedEvent{}, fmt.Errorf("the trigger %s is not at position %d of the log", id, pos)
	}
	return evs[0], nil
}

// stepEvent is what the chain reads of a situation event.
type stepEvent struct {
	StepID        uuid.UUID `json:"step_id"`
	DraftID       uuid.UUID `json:"draft_id"`
	GrantID       uuid.UUID `json:"grant_id"`
	ParentStepID  uuid.UUID `json:"parent_step_id"`
	ExpiredStepID uuid.UUID `json:"expired_step_id"`
}

func decodeStepEvent(e eventstore.RecordedEvent) stepEvent {
	var s stepEvent
	_ = json.Unmarshal(e.Data, &s)
	return s
}

func expiredOf(events []eventstore.RecordedEvent, step uuid.UUID) uuid.UUID {
	for _, e := range events {
		if e.Type == situation.TypeStepDecided {
			if s := decodeStepEvent(e); s.StepID == step {
				return s.ExpiredStepID
			}
		}
	}
	return uuid.Nil
}

var roles = map[string]string{
	situation.TypeDraftConfirmed:     "confirmed",
	situation.TypeDraftDeclined:      "declined",
	situation.TypeDraftExpired:       "expired",
	situation.TypeDraftWithdrawn:     "withdrawn",
	situation.TypeDraftReminded:      "reminded",
	situation.TypeApplicationDecided: "agency-decided",
	situation.TypeGrantWithdrawn:     "grant-withdrawn",
}

// chain is the trigger, the opening, the decisions and confirmations that
// led to the step (its parent's, for a follow-up; the expired draft's, for
// a notice), the step's decision and every later event about it.
func chain(trigger eventstore.RecordedEvent, events []eventstore.RecordedEvent, step *situation.Step) []Link {
	out := []Link{link(trigger, "trigger")}
	// ancestors: the step and the steps it came from.
	ancestors := map[uuid.UUID]bool{step.ID: true}
	for changed := true; changed; {
		changed = false
		for _, e := range events {
			if e.Type != situation.TypeStepDecided {
				continue
			}
			s := decodeStepEvent(e)
			if !ancestors[s.StepID] {
				continue
			}
			for _, p := range []uuid.UUID{s.ParentStepID, s.ExpiredStepID} {
				if p != uuid.Nil && !ancestors[p] {
					ancestors[p], changed = true, true
				}
			}
		}
	}
	var grant uuid.UUID
	if step.Grant != nil {
		grant = step.Grant.ID
	}
	for _, e := range events {
		if e.Type == situation.TypeOpened {
			out = append(out, link(e, "opened"))
			continue
		}
		s := decodeStepEvent(e)
		switch {
		case e.Type == situation.TypeStepDecided && s.StepID == step.ID:
			out = append(out, link(e, "decided"))
		case e.Type == situation.TypeStepDecided && ancestors[s.StepID]:
			out = append(out, link(e, "parent-decided"))
		case e.Type == situation.TypeStepDecided && s.ParentStepID == step.ID:
			out = append(out, link(e, "follow-up"))
		case e.Type == situation.TypeStepDecided && s.ExpiredStepID == step.ID:
			out = append(out, link(e, "notice"))
		case e.Type == situation.TypeDraftConfirmed && s.DraftID != step.ID && ancestors[s.DraftID]:
			out = append(out, link(e, "parent-confirmed"))
		case e.Type == situation.TypeDraftExpired && s.DraftID != step.ID && ancestors[s.DraftID]:
			out = append(out, link(e, "parent-expired"))
		case s.DraftID == step.ID && roles[e.Type] != "":
			out = append(out, link(e, roles[e.Type]))
		case e.Type == situation.TypeGrantWithdrawn && grant != uuid.Nil && s.GrantID == grant:
			out = append(out, link(e, roles[e.Type]))
		}
	}
	return out
}

func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func object(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
