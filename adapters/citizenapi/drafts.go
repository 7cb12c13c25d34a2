package citizenapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/projections/cabinet"
)

// maxReason bounds a decline's reason, in characters.
const maxReason = 1000

// listDrafts: GET /v1/me/drafts, oldest first (created_at, then id).
func (a *API) listDrafts(w http.ResponseWriter, r *http.Request, person string) {
	drafts, err := a.cab.Drafts(person)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeList(w, drafts)
}

// getDraft: GET /v1/me/drafts/{id}.
func (a *API) getDraft(w http.ResponseWriter, r *http.Request, person string) {
	d, ok := a.draft(w, r, person, false)
	if ok {
		httpapi.WriteJSON(w, http.StatusOK, d)
	}
}

// confirmDraft: POST /v1/me/drafts/{id}/confirm {"fields": {...}}.
func (a *API) confirmDraft(w http.ResponseWriter, r *http.Request, person string) {
	d, ok := a.draft(w, r, person, true)
	if !ok {
		return
	}
	var req struct {
		Fields json.RawMessage `json:"fields"`
	}
	if p := decodeBody(r, &req); p != nil {
		problem.Write(w, p)
		return
	}
	fields, errs := corrections(req.Fields, d.Editable)
	if len(errs) > 0 {
		problem.Write(w, problem.Validation("the corrections are not acceptable", errs))
		return
	}
	pos, err := a.cmds.ConfirmDraft(r.Context(), d.Situation, d.ID, person, fields)
	if err != nil {
		a.commandFailed(w, r, "draft", err)
		return
	}
	a.answerDraft(w, r, person, d, pos)
}

// declineDraft: POST /v1/me/drafts/{id}/decline {"reason": "..."}.
func (a *API) declineDraft(w http.ResponseWriter, r *http.Request, person string) {
	d, ok := a.draft(w, r, person, true)
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if p := decodeBody(r, &req); p != nil {
		problem.Write(w, p)
		return
	}
	if n := utf8.RuneCountInString(req.Reason); n > maxReason {
		problem.Write(w, problem.Validation("the reason is too long", []problem.FieldError{{
			Pointer: "/reason", Detail: fmt.Sprintf("at most %d characters, got %d", maxReason, n)}}))
		return
	}
	pos, err := a.cmds.DeclineDraft(r.Context(), d.Situation, d.ID, person, req.Reason)
	if err != nil {
		a.commandFailed(w, r, "draft", err)
		return
	}
	a.answerDraft(w, r, person, d, pos)
}

// draft finds the draft of the path that person sees (or, for a command,
// is the applicant of), answering 404 otherwise.
func (a *API) draft(w http.ResponseWriter, r *http.Request, person string, applicant bool) (cabinet.Draft, bool) {
	id, ok := pathID(r)
	if !ok {
		notFound(w, "draft")
		return cabinet.Draft{}, false
	}
	d, err := a.cab.DraftFor(person, id)
	if err != nil {
		a.readFailed(w, r, "draft", err)
		return cabinet.Draft{}, false
	}
	if applicant && d.Applicant != person {
		// Only the applicant decides on a draft; to others it is not there.
		notFound(w, "draft")
		return cabinet.Draft{}, false
	}
	return d, true
}

func (a *API) answerDraft(w http.ResponseWriter, r *http.Request, person string, d cabinet.Draft, pos uint64) {
	if !a.await(w, r, pos) {
		return
	}
	d, err := a.cab.DraftFor(person, d.ID)
	if err != nil {
		a.readFailed(w, r, "draft", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
}

// corrections decodes the fields of a confirmation and checks that each is
// editable; the saga checks the values with the catalogue's rules.
func corrections(raw json.RawMessage, editable []string) (map[string]any, []problem.FieldError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, []problem.FieldError{{Pointer: "/fields", Detail: "fields must be an object of corrected values by field name"}}
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []problem.FieldError
	for _, name := range names {
		if !slices.Contains(editable, name) {
			errs = append(errs, problem.FieldError{Pointer: "/fields/" + pointerToken(name), Detail: notEditable(name, editable)})
		}
	}
	return fields, errs
}

func notEditable(name string, editable []string) string {
	if len(editable) == 0 {
		return fmt.Sprintf("field %q is not editable: this draft has no editable field", name)
	}
	return fmt.Sprintf("field %q is not editable; editable fields: %s", name, strings.Join(editable, ", "))
}

// pointerToken escapes a name for a JSON pointer (RFC 6901).
func pointerToken(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}
