package cabinet

import (
	"maps"
	"slices"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// situationRow is a situation as stored: every step, who may see it, and
// each citizen's rating; view cuts it down for one viewer.
type situationRow struct {
	Situation
	// Viewers are the persons who see the situation: its person, its
	// participants and every step's applicant and beneficiary.
	Viewers []string          `json:"viewers"`
	Ratings map[string]Rating `json:"ratings,omitempty"`
}

// rows renders the situation and its drafts and grants.
func (f *folded) rows() (situationRow, []Draft, []Grant) {
	o := f.state.Opened
	status := SituationCompleted
	if f.state.Status() == string(SituationOpen) {
		status = SituationOpen
	}
	row := situationRow{
		Situation: Situation{
			ID: f.id, Kind: o.Kind, Title: o.Title, EventDate: o.Trigger.EventDate, OpenedAt: o.OpenedAt,
			Status: status, Steps: make([]Step, 0, len(f.state.Steps)),
		},
		Viewers: people(append([]string{o.PersonID}, o.Participants...)...),
	}
	if len(f.ratings) > 0 {
		row.Ratings = maps.Clone(f.ratings)
	}
	var drafts []Draft
	var grants []Grant
	for _, st := range f.state.Steps {
		row.Steps = append(row.Steps, f.step(st))
		row.Viewers = people(append(row.Viewers, st.Decision.Applicant, st.Decision.Beneficiary)...)
		if st.Draft != nil {
			drafts = append(drafts, f.draft(st))
		}
		if st.Grant != nil {
			grants = append(grants, f.grant(st))
		}
	}
	return row, drafts, grants
}

func (f *folded) step(st *situation.Step) Step {
	d := st.Decision
	s := Step{
		Service: d.Service, Title: d.Title, Outcome: st.Outcome, Reasons: reasons(st.Reasons),
		Applicant: d.Applicant, Beneficiary: d.Beneficiary, Deadline: Date(d.Deadline), Curator: d.Curator,
		DecidedAt: st.DecidedAt, UpdatedAt: st.UpdatedAt,
	}
	if st.Draft != nil {
		s.DraftID = st.ID
	}
	if st.Grant != nil {
		s.GrantID = st.Grant.ID
	}
	return s
}

func (f *folded) draft(st *situation.Step) Draft {
	d := st.Decision
	out := Draft{
		ID: st.ID, Service: d.Service, Title: d.Title, Situation: f.id, SituationKind: f.state.Opened.Kind,
		Status: st.Draft.Status, Outcome: st.Outcome, Applicant: d.Applicant, Beneficiary: d.Beneficiary,
		Prefill: object(d.Prefill), Editable: list(d.Editable), Fields: object(st.Draft.Fields),
		Reasons: reasons(st.Reasons), Deadline: Date(d.Deadline), CreatedAt: st.DecidedAt, UpdatedAt: st.UpdatedAt,
		LegalBasis: d.LegalBasis, Curator: d.Curator,
	}
	if st.Grant != nil {
		out.GrantID = st.Grant.ID
	}
	return out
}

func (f *folded) grant(st *situation.Step) Grant {
	d := st.Decision
	g := Grant{
		ID: st.Grant.ID, Service: d.Service, Title: d.Title, Situation: f.id, SituationKind: f.state.Opened.Kind,
		Status: GrantActive, Applicant: d.Applicant, Beneficiary: d.Beneficiary, GrantedAt: st.Grant.GrantedAt,
		Registry: st.Grant.Registry, EntryID: st.Grant.EntryID, Details: object(d.Prefill), OptOut: d.OptOut,
		LegalBasis: d.LegalBasis, Curator: d.Curator,
	}
	if st.Grant.Withdrawn {
		g.Status, g.WithdrawnAt = GrantWithdrawn, st.UpdatedAt
		if w := st.Withdrawal; w != nil && w.ReplacedBy != nil {
			g.ReplacedBy, g.ReplacedIn = w.ReplacedBy.Grant, w.ReplacedBy.Situation
		}
	}
	if st.Draft != nil {
		// Granted on the application: the entry holds what was confirmed.
		g.DraftID = st.ID
		maps.Copy(g.Details, st.Draft.Fields)
	}
	return g
}

// object is m, copied so that rows never share a map, and {} for nil.
func object(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	maps.Copy(out, m)
	return out
}

func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return slices.Clone(l)
}

func reasons(r []catalogue.Reason) []catalogue.Reason {
	if r == nil {
		return []catalogue.Reason{}
	}
	return slices.Clone(r)
}

// view is the situation as person sees it: the steps they are applicant or
// beneficiary of, and the grants of their minor children; their own rating.
func (row *situationRow) view(person string, minors map[string]bool) Situation {
	s := row.Situation
	s.Steps = []Step{}
	for _, st := range row.Steps {
		if st.Applicant == person || st.Beneficiary == person ||
			(st.GrantID != uuid.Nil && (minors[st.Beneficiary] || minors[st.Applicant])) {
			s.Steps = append(s.Steps, st)
		}
	}
	if r, ok := row.Ratings[person]; ok {
		s.Rating = &r
	}
	return s
}
