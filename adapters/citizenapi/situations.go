package citizenapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
)

// maxComment bounds a rating's comment, in characters.
const maxComment = 2000

// listSituations: GET /v1/me/situations, newest first (opened_at, then id,
// descending).
func (a *API) listSituations(w http.ResponseWriter, r *http.Request, person string) {
	sits, err := a.cab.Situations(person)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeList(w, sits)
}

// rateSituation: POST /v1/me/situations/{id}/rating {"score": 1..5,
// "comment": "..."}, by anyone who sees the situation; it answers the
// situation with the citizen's rating.
func (a *API) rateSituation(w http.ResponseWriter, r *http.Request, person string) {
	id, ok := pathID(r)
	if !ok {
		notFound(w, "situation")
		return
	}
	if _, err := a.cab.SituationFor(person, id); err != nil {
		a.readFailed(w, r, "situation", err)
		return
	}
	var req struct {
		Score   json.RawMessage `json:"score"`
		Comment string          `json:"comment"`
	}
	if p := decodeBody(r, &req); p != nil {
		problem.Write(w, p)
		return
	}
	score, errs := parseScore(req.Score)
	if n := utf8.RuneCountInString(req.Comment); n > maxComment {
		errs = append(errs, problem.FieldError{Pointer: "/comment", Detail: fmt.Sprintf("at most %d characters, got %d", maxComment, n)})
	}
	if len(errs) > 0 {
		problem.Write(w, problem.Validation("the rating is invalid", errs))
		return
	}
	pos, err := a.cmds.RateSituation(r.Context(), id, person, score, req.Comment)
	if err != nil {
		a.commandFailed(w, r, "situation", err)
		return
	}
	if !a.await(w, r, pos) {
		return
	}
	s, err := a.cab.SituationFor(person, id)
	if err != nil {
		a.readFailed(w, r, "situation", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, s)
}

// parseScore reads a score, a whole number from 1 to 5.
func parseScore(raw json.RawMessage) (int, []problem.FieldError) {
	const detail = "the score must be a whole number from 1 to 5"
	if len(raw) == 0 || string(raw) == "null" {
		return 0, []problem.FieldError{{Pointer: "/score", Detail: "the score is required: " + detail}}
	}
	var score int
	if err := json.Unmarshal(raw, &score); err != nil || score < 1 || score > 5 {
		if len(raw) <= 20 {
			return 0, []problem.FieldError{{Pointer: "/score", Detail: detail + ", got " + string(raw)}}
		}
		return 0, []problem.FieldError{{Pointer: "/score", Detail: detail}}
	}
	return score, nil
}

// listNotifications: GET /v1/me/notifications, newest first.
func (a *API) listNotifications(w http.ResponseWriter, r *http.Request, person string) {
	notes, err := a.cab.Notifications(person)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeList(w, notes)
}
