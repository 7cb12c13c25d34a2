package webcabinet

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/projections/cabinet"
)

// grantView is one grant on the grants page.
type grantView struct {
	cabinet.Grant
	For       string
	Details   []shownField
	CanOptOut bool
	Why       string
}

// grantsPage: GET /grants, oldest first, with the grants of the citizen's
// children under 18.
func (s *Server) grantsPage(w http.ResponseWriter, r *http.Request, v *view, person string) {
	if r.URL.Query().Get("done") == "withdrawn" {
		v.Flash = v.T("done.withdrawn")
	}
	s.showGrants(w, r, v, person, http.StatusOK, uuid.Nil, "")
}

// showGrants shows the grants; why, when set, says next to grant id why
// giving it up could not be done.
func (s *Server) showGrants(w http.ResponseWriter, r *http.Request, v *view, person string, status int, id uuid.UUID, why string) {
	grants, err := s.cfg.ReadModel.Grants(person)
	if err != nil {
		s.internal(w, r, v, err)
		return
	}
	out := make([]grantView, len(grants))
	for i, g := range grants {
		people := s.people(g.Applicant, g.Beneficiary, g.Details)
		gv := grantView{Grant: g, For: nameOf(people, g.Beneficiary),
			CanOptOut: g.OptOut && g.Status == cabinet.GrantActive && g.Applicant == person}
		for _, name := range sortedKeys(g.Details) {
			gv.Details = append(gv.Details, shownField{v.Label(name), show(v, name, g.Details[name], people)})
		}
		if g.ID == id {
			gv.Why = why
		}
		out[i] = gv
	}
	v.Nav, v.Title, v.Data = "grants", v.T("grants.title"), out
	s.render(w, r, status, "grants", v)
}

// withdraw: POST /grants/{id}/withdraw, by the grant's applicant, for a
// grant that allows opting out. Repeating it changes nothing.
func (s *Server) withdraw(w http.ResponseWriter, r *http.Request, v *view, person string) {
	g, ok := fromPath(s, w, r, v, person, s.cfg.ReadModel.GrantFor)
	if !ok {
		return
	}
	if g.Applicant != person {
		// A parent sees a child's grant but only its applicant may opt out.
		s.notFound(w, r, v)
		return
	}
	pos, err := s.cfg.Commands.WithdrawGrant(r.Context(), g.Situation, g.ID, person)
	s.commandDone(w, r, v, pos, err, func() { s.showGrants(w, r, v, person, http.StatusConflict, g.ID, v.T("why.noOptOut")) },
		"/grants?done=withdrawn#grant-"+g.ID.String())
}

// maxComment bounds a rating's comment, in characters, as in the API.
const maxComment = 2000

// situationData is the page of one situation, with the rating form.
type situationData struct {
	Situation cabinet.Situation
	Scores    []scoreChoice
	Score     fieldView
	Comment   fieldView
}

type scoreChoice struct {
	N       int
	Label   string
	Checked bool
}

// situationPage: GET /situations/{id}.
func (s *Server) situationPage(w http.ResponseWriter, r *http.Request, v *view, person string) {
	sit, ok := s.situation(w, r, v, person)
	if !ok {
		return
	}
	if r.URL.Query().Get("done") == "rated" && sit.Rating != nil {
		v.Flash = v.T("done.rated")
	}
	d := s.situationData(v, sit, 0, "")
	if sit.Rating != nil {
		d.Comment.Value = sit.Rating.Comment
	}
	s.showSituation(w, r, v, http.StatusOK, d)
}

func (s *Server) situation(w http.ResponseWriter, r *http.Request, v *view, person string) (cabinet.Situation, bool) {
	return fromPath(s, w, r, v, person, s.cfg.ReadModel.SituationFor)
}

func (s *Server) situationData(v *view, sit cabinet.Situation, score int, comment string) situationData {
	if score == 0 && sit.Rating != nil {
		score = sit.Rating.Score
	}
	d := situationData{Situation: sit,
		Score:   fieldView{Name: "score", ID: "f-score", Label: v.T("rate.score")},
		Comment: fieldView{Name: "comment", ID: "f-comment", Label: v.T("rate.comment"), Value: comment, Type: "textarea"}}
	for n := 1; n <= 5; n++ {
		d.Scores = append(d.Scores, scoreChoice{N: n, Label: v.T(fmt.Sprintf("rate.s%d", n)), Checked: n == score})
	}
	return d
}

func (s *Server) showSituation(w http.ResponseWriter, r *http.Request, v *view, status int, d situationData) {
	if d.Score.Error != "" {
		v.Errors = append(v.Errors, summaryItem{Anchor: "f-score-1", Text: d.Score.Label + ": " + d.Score.Error})
	}
	if d.Comment.Error != "" {
		v.Errors = append(v.Errors, summaryItem{Anchor: d.Comment.ID, Text: d.Comment.Label + ": " + d.Comment.Error})
	}
	v.Nav, v.Title, v.Data = "home", v.L(d.Situation.Title), d
	s.render(w, r, status, "situation", v)
}

// rate: POST /situations/{id}/rating, by anyone who sees the situation;
// the last rating counts.
func (s *Server) rate(w http.ResponseWriter, r *http.Request, v *view, person string) {
	sit, ok := s.situation(w, r, v, person)
	if !ok {
		return
	}
	score, err := strconv.Atoi(r.PostForm.Get("score"))
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	badScore := err != nil || score < 1 || score > 5
	if badScore {
		score = -1
	}
	d := s.situationData(v, sit, score, comment)
	if badScore {
		d.Score.Error = v.T("rate.noScore")
	}
	if n := utf8.RuneCountInString(comment); n > maxComment {
		d.Comment.Error = v.Tf("rate.tooLong", maxComment, n)
	}
	if d.Score.Error != "" || d.Comment.Error != "" {
		s.showSituation(w, r, v, http.StatusBadRequest, d)
		return
	}
	pos, err := s.cfg.Commands.RateSituation(r.Context(), sit.ID, person, score, comment)
	s.commandDone(w, r, v, pos, err, nil, "/situations/"+sit.ID.String()+"?done=rated")
}
