package situations

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

// ConfirmDraft records the applicant's confirmation of a draft with their
// corrections, validated by the catalogue's rules for the service, and the
// follow-up services the catalogue offers once it is confirmed (decided in
// the same batch, so a confirmation never exists without its follow-ups).
func (s *Service) ConfirmDraft(ctx context.Context, sitID, draftID uuid.UUID, by string, fields map[string]any) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "citizen:"+by, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		step, ok := st.Step(draftID)
		if !ok || step.Draft == nil {
			return nil, fmt.Errorf("draft %s: %w", draftID, situation.ErrNotFound)
		}
		if len(fields) > 0 {
			if errs := s.cat.ValidateCorrections(step.Decision.Service, fields); len(errs) > 0 {
				return nil, &ValidationError{Errors: errs}
			}
		}
		recs, err := st.Confirm(draftID, fields, by, now)
		if err != nil || len(recs) == 0 || len(step.Decision.FollowUps) == 0 {
			return recs, err
		}
		follow, err := s.followUps(st, step, fields, now)
		if err != nil {
			return nil, err
		}
		for _, d := range follow {
			recs = append(recs, situation.Decide(st.Opened.SituationID, d, draftID, now))
		}
		return recs, nil
	})
}

func (s *Service) followUps(st *situation.State, step *situation.Step, fields map[string]any, now time.Time) ([]catalogue.StepDecision, error) {
	sit, ok := s.cat.Situation(st.Opened.Kind)
	if !ok {
		return nil, fmt.Errorf("situation kind %q is not in catalogue %s", st.Opened.Kind, s.cat.Version())
	}
	var data map[string]any
	if err := json.Unmarshal(st.Opened.Trigger.Data, &data); err != nil {
		return nil, fmt.Errorf("trigger data of situation %s: %w", st.Opened.SituationID, err)
	}
	in := catalogue.Input{
		EventType: st.Opened.Trigger.Type, EventID: st.Opened.Trigger.EventID.String(), Data: data,
		EventDate: st.Opened.Trigger.EventDate, People: s.people(data), Today: now,
	}
	d, err := catalogue.DecideFollowUps(sit, step.Decision, fields, in)
	if err != nil {
		return nil, fmt.Errorf("follow-ups of %s: %w", step.Decision.Key, err)
	}
	return d.Steps, nil
}

// DeclineDraft records the applicant's refusal of a draft.
func (s *Service) DeclineDraft(ctx context.Context, sitID, draftID uuid.UUID, by, reason string) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "citizen:"+by, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Decline(draftID, reason, by, now)
	})
}

// WithdrawGrant records an opt-out of a grant that allows it.
func (s *Service) WithdrawGrant(ctx context.Context, sitID, grantID uuid.UUID, by string) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "citizen:"+by, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.WithdrawGrant(grantID, by, now)
	})
}

// RateSituation records a citizen's rating of a situation.
func (s *Service) RateSituation(ctx context.Context, sitID uuid.UUID, by string, score int, comment string) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "citizen:"+by, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Rate(score, comment, by, now)
	})
}

// AgencyDecide records an agency's decision on a submitted draft.
func (s *Service) AgencyDecide(ctx context.Context, sitID, draftID uuid.UUID, agency string, outcome situation.Outcome, reasons []catalogue.Reason) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "agency:"+agency, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.AgencyDecide(draftID, outcome, reasons, now)
	})
}

// Remind records a due reminder of an open draft.
func (s *Service) Remind(ctx context.Context, sitID, draftID uuid.UUID, due string) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "timer", func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.Remind(draftID, due, now), nil
	})
}

// Expire records that an open draft's deadline passed, with the notice the
// catalogue attaches to a missed deadline (the passport-expired notice).
func (s *Service) Expire(ctx context.Context, sitID, draftID uuid.UUID) (eventstore.Position, error) {
	return s.execute(ctx, sitID, "timer", func(st *situation.State, now time.Time) ([]situation.Record, error) {
		step, ok := st.Step(draftID)
		if !ok {
			return nil, fmt.Errorf("draft %s: %w", draftID, situation.ErrNotFound)
		}
		var notice *catalogue.StepDecision
		if code := step.Decision.OnExpiry; code != "" {
			n, err := s.notice(step.Decision, code)
			if err != nil {
				return nil, err
			}
			notice = &n
		}
		return st.Expire(draftID, notice, now), nil
	})
}

// notice is the decision to inform the applicant that a deadline was missed.
func (s *Service) notice(missed catalogue.StepDecision, code string) (catalogue.StepDecision, error) {
	svc, ok := s.cat.Service(code)
	if !ok {
		return catalogue.StepDecision{}, fmt.Errorf("notice service %q is not in catalogue %s", code, s.cat.Version())
	}
	return catalogue.StepDecision{
		Key: missed.Key + "/" + code, Step: missed.Step + "/" + code, Service: svc.ID, Title: svc.Title,
		Agency: svc.Agency, Mode: svc.Mode, Outcome: catalogue.OutcomeNotified,
		Applicant: missed.Applicant, Beneficiary: missed.Beneficiary, Curator: svc.Curator,
		LegalBasis: svc.LegalBasis,
		Reasons: []catalogue.Reason{{Kind: catalogue.ReasonNote, Text: catalogue.Text{
			RU: "Срок " + missed.Deadline + " пропущен: заявление «" + missed.Title.RU + "» не подтверждено.",
			EN: "The deadline of " + missed.Deadline + " passed: the application \"" + missed.Title.EN + "\" was not confirmed.",
		}, LegalBasis: missed.LegalBasis}},
	}, nil
}
