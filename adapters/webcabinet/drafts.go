package webcabinet

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
	"lifesituations/sagas/situations"
)

// maxReason bounds a decline's reason, in characters, as in the API.
const maxReason = 1000

// fieldView is one form field with what is shown next to it: its label, a
// hint, and the error in words when the value was refused.
type fieldView struct {
	Name, ID     string
	Label, Hint  string
	Error        string
	Value        string
	Type         string // the input's type: text, tel, date, checkbox
	InputMode    string
	Autocomplete string
	Checked      bool
}

// Describedby lists the ids of the hint and the error, for
// aria-describedby.
func (f fieldView) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// shownField is a field's value said in words.
type shownField struct{ Label, Value string }

// draftData is the draft page.
type draftData struct {
	Draft        cabinet.Draft
	StatusText   string
	StatusClass  string
	Applicant    string
	Beneficiary  string
	IsApplicant  bool
	CanDecide    bool // open, and the viewer is its applicant
	Prefill      []shownField
	Confirmed    []shownField
	Editable     []fieldView
	Reason       fieldView
	Why          string // why the last command could not be done
	SituationURL string
}

// draftPage: GET /drafts/{id}.
func (s *Server) draftPage(w http.ResponseWriter, r *http.Request, v *view, person string) {
	d, ok := s.draft(w, r, v, person, false)
	if !ok {
		return
	}
	data := s.draftData(v, person, d, nil)
	switch done := r.URL.Query().Get("done"); {
	case done == "confirmed" && d.Status == situation.StatusConfirmed,
		done == "declined" && d.Status == situation.StatusDeclined:
		v.Flash = v.T("done." + done)
	}
	s.showDraft(w, r, v, http.StatusOK, data)
}

func (s *Server) showDraft(w http.ResponseWriter, r *http.Request, v *view, status int, data draftData) {
	v.Nav, v.Title, v.Data = "home", v.L(data.Draft.Title), data
	for _, f := range append(data.Editable, data.Reason) {
		if f.Error != "" {
			v.Errors = append(v.Errors, summaryItem{Anchor: f.ID, Text: f.Label + ": " + f.Error})
		}
	}
	s.render(w, r, status, "draft", v)
}

// draft finds the draft of the path that person sees (or, for a command,
// is the applicant of), answering 404 otherwise, as the API does.
func (s *Server) draft(w http.ResponseWriter, r *http.Request, v *view, person string, applicant bool) (cabinet.Draft, bool) {
	d, ok := fromPath(s, w, r, v, person, s.cfg.ReadModel.DraftFor)
	if !ok {
		return cabinet.Draft{}, false
	}
	if applicant && d.Applicant != person {
		s.notFound(w, r, v)
		return cabinet.Draft{}, false
	}
	return d, true
}

// draftData builds the draft page; values are what the form last sent
// (nil: the draft's own values).
func (s *Server) draftData(v *view, person string, d cabinet.Draft, values map[string]string) draftData {
	data := draftData{
		Draft: d, StatusText: v.T("draft.status." + string(d.Status)), StatusClass: draftClass(d.Status),
		IsApplicant: d.Applicant == person, SituationURL: "/situations/" + d.Situation.String(),
	}
	data.CanDecide = data.IsApplicant && d.Status == situation.StatusOpen
	if d.Status == situation.StatusConfirmed && d.Outcome != "" {
		data.StatusText += " · " + v.Outcome(d.Outcome)
		data.StatusClass = outcomeClass(d.Outcome)
	}
	people := s.people(d.Applicant, d.Beneficiary, d.Prefill, d.Fields)
	data.Applicant, data.Beneficiary = nameOf(people, d.Applicant), nameOf(people, d.Beneficiary)

	svc, _ := s.cfg.Catalogue.Service(d.Service)
	for _, name := range sortedKeys(d.Prefill) {
		if data.CanDecide && slices.Contains(d.Editable, name) {
			continue // shown in the form, with its value
		}
		data.Prefill = append(data.Prefill, shownField{v.Label(name), show(v, name, d.Prefill[name], people)})
	}
	for _, name := range sortedKeys(d.Fields) {
		data.Confirmed = append(data.Confirmed, shownField{v.Label(name), show(v, name, d.Fields[name], people)})
	}
	if data.CanDecide {
		for _, name := range d.Editable {
			f := editableField(v, svc, name)
			current, had := d.Prefill[name]
			if values != nil {
				f.Value = values[name]
				f.Checked = values[name] == "on"
			} else if had {
				f.Value = formValue(current)
				f.Checked = current == true
			}
			data.Editable = append(data.Editable, f)
		}
		data.Reason = fieldView{Name: "reason", ID: "f-reason", Label: v.T("draft.reason"), Type: "textarea"}
	}
	return data
}

// editableField describes a field the citizen may correct, with the
// catalogue's rule in words as its hint.
func editableField(v *view, svc *catalogue.Service, name string) fieldView {
	f := fieldView{Name: "field." + name, ID: "f-" + name, Label: v.Label(name), Type: "text"}
	var spec *catalogue.EditableField
	if svc != nil {
		for _, e := range svc.Editable {
			if e.Name == name {
				spec = e
			}
		}
	}
	if spec != nil {
		f.Hint = v.L(spec.Message)
		switch spec.Type {
		case "date":
			f.Type = "date"
		case "bool":
			f.Type = "checkbox"
		case "int":
			f.InputMode = "numeric"
		case "number":
			f.InputMode = "decimal"
		}
	}
	switch name {
	case "phone":
		f.Type, f.Autocomplete = "tel", "tel"
	case "address":
		f.Autocomplete = "street-address"
	case "bank_account", "bik":
		f.InputMode, f.Autocomplete = "numeric", "off"
	}
	return f
}

// corrections reads the editable fields of a confirm form: those changed
// from the pre-filled values, typed as the catalogue declares them (a
// value that is not of the type goes as typed, for the catalogue's check
// to refuse in words). values are the form's values, to show again.
func corrections(d cabinet.Draft, svc *catalogue.Service, form url.Values) (map[string]any, map[string]string) {
	types := map[string]string{}
	if svc != nil {
		for _, e := range svc.Editable {
			types[e.Name] = e.Type
		}
	}
	fields, values := map[string]any{}, map[string]string{}
	for _, name := range d.Editable {
		prefilled, had := d.Prefill[name]
		if types[name] == "bool" {
			on := form.Get("field."+name) != ""
			if on {
				values[name] = "on"
			}
			if on != (prefilled == true) {
				fields[name] = on
			}
			continue
		}
		raw := strings.TrimSpace(form.Get("field." + name))
		values[name] = raw
		if (had && raw == formValue(prefilled)) || (!had && raw == "") {
			continue // unchanged
		}
		fields[name] = typed(types[name], raw)
	}
	if len(fields) == 0 {
		return nil, values
	}
	return fields, values
}

// typed converts a form's text to the field's type as JSON would carry it.
func typed(typ, raw string) any {
	switch typ {
	case "int":
		if n, err := strconv.ParseInt(strings.ReplaceAll(raw, " ", ""), 10, 64); err == nil {
			return float64(n)
		}
	case "number":
		if x, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(raw, " ", ""), ",", "."), 64); err == nil {
			return x
		}
	}
	return raw
}

// confirm: POST /drafts/{id}/confirm. Confirming again with the same form
// (a double click) changes nothing and shows the confirmed draft.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request, v *view, person string) {
	d, ok := s.draft(w, r, v, person, true)
	if !ok {
		return
	}
	svc, _ := s.cfg.Catalogue.Service(d.Service)
	fields, values := corrections(d, svc, r.PostForm)
	pos, err := s.cfg.Commands.ConfirmDraft(r.Context(), d.Situation, d.ID, person, fields)
	var refused *situations.ValidationError
	if errors.As(err, &refused) {
		data := s.draftData(v, person, d, values)
		for _, fe := range refused.Errors {
			s.markField(v, &data, fe)
		}
		s.showDraft(w, r, v, http.StatusBadRequest, data)
		return
	}
	s.commandDone(w, r, v, pos, err, func() { s.cannot(w, r, v, person, d, "confirm", err) },
		"/drafts/"+d.ID.String()+"?done=confirmed")
}

// markField puts a refused correction's message next to its field (or
// above the form when the field is not on it).
func (s *Server) markField(v *view, data *draftData, fe catalogue.FieldError) {
	msg := v.L(fe.Text)
	if msg == "" {
		msg = fe.Detail
	}
	for i := range data.Editable {
		if data.Editable[i].Name == "field."+fe.Field {
			data.Editable[i].Error = msg
			return
		}
	}
	v.Errors = append(v.Errors, summaryItem{Anchor: "confirm", Text: v.Label(fe.Field) + ": " + msg})
}

// decline: POST /drafts/{id}/decline with an optional reason.
func (s *Server) decline(w http.ResponseWriter, r *http.Request, v *view, person string) {
	d, ok := s.draft(w, r, v, person, true)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if n := utf8.RuneCountInString(reason); n > maxReason {
		data := s.draftData(v, person, d, nil)
		data.Reason.Value, data.Reason.Error = reason, v.Tf("reason.tooLong", maxReason, n)
		s.showDraft(w, r, v, http.StatusBadRequest, data)
		return
	}
	pos, err := s.cfg.Commands.DeclineDraft(r.Context(), d.Situation, d.ID, person, reason)
	s.commandDone(w, r, v, pos, err, func() { s.cannot(w, r, v, person, d, "decline", err) },
		"/drafts/"+d.ID.String()+"?done=declined")
}

// cannot shows the draft as it stands now, with why the command given on
// an older page could not be done: it expired, was declined, withdrawn or
// confirmed meanwhile.
func (s *Server) cannot(w http.ResponseWriter, r *http.Request, v *view, person string, d cabinet.Draft, action string, err error) {
	if now, rerr := s.cfg.ReadModel.DraftFor(person, d.ID); rerr == nil {
		d = now
	}
	data := s.draftData(v, person, d, nil)
	data.Why = why(v, d, action, err)
	s.showDraft(w, r, v, http.StatusConflict, data)
}

// why says in words why a draft can no longer be confirmed or declined.
func why(v *view, d cabinet.Draft, action string, err error) string {
	switch d.Status {
	case situation.StatusExpired:
		agency := d.Curator.Agency
		if agency == "" {
			agency = d.Curator.Name
		}
		return v.Tf("why.expired", v.Date(d.Deadline), agency)
	case situation.StatusDeclined:
		return v.Tf("why.declined", v.Day(d.UpdatedAt))
	case situation.StatusWithdrawn:
		return v.T("why.withdrawn")
	case situation.StatusConfirmed:
		if action == "decline" {
			return v.Tf("why.declineConfirmed", v.Day(d.UpdatedAt))
		}
		return v.Tf("why.confirmedOther", v.Day(d.UpdatedAt))
	}
	// The read model has not caught up with the refusal yet: say what the
	// saga said.
	return v.Tf("why.other", strings.TrimSuffix(err.Error(), ": "+situation.ErrConflict.Error()))
}

func draftClass(st situation.DraftStatus) string {
	switch st {
	case situation.StatusOpen:
		return "wait"
	case situation.StatusConfirmed:
		return "info"
	case situation.StatusExpired:
		return "bad"
	}
	return "neutral"
}

// people names the persons a draft or grant mentions: its applicant and
// beneficiary, and every value that is a person's id.
func (s *Server) people(applicant, beneficiary string, maps ...map[string]any) map[string]catalogue.Person {
	ids := []string{applicant, beneficiary}
	var walk func(x any)
	walk = func(x any) {
		switch t := x.(type) {
		case string:
			if _, err := uuid.Parse(t); err == nil {
				ids = append(ids, t)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, m := range maps {
		for _, x := range m {
			walk(x)
		}
	}
	return s.cfg.Register.People(ids...)
}

func nameOf(people map[string]catalogue.Person, id string) string {
	if p, ok := people[id]; ok {
		return fullName(p)
	}
	return id
}

// show says a value in words: a person's name for their id, a date in
// words, yes or no.
func show(v *view, name string, x any, people map[string]catalogue.Person) string {
	switch t := x.(type) {
	case nil:
		return "—"
	case string:
		if p, ok := people[t]; ok {
			return fullName(p)
		}
		if name == "sex" {
			switch t {
			case "M":
				return map[lang]string{ru: "мужской", en: "male"}[v.Lang]
			case "F":
				return map[lang]string{ru: "женский", en: "female"}[v.Lang]
			}
		}
		if d := v.Lang.date(t); d != t {
			return d
		}
		return t
	case bool:
		if t {
			return v.T("yes")
		}
		return v.T("no")
	case float64:
		s := strconv.FormatFloat(t, 'f', -1, 64)
		if v.Lang == ru {
			s = strings.ReplaceAll(s, ".", ",")
		}
		return s
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = show(v, name, e, people)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		var parts []string
		for _, k := range sortedKeys(t) {
			parts = append(parts, v.Label(k)+": "+show(v, k, t[k], people))
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(x)
}

// formValue is a pre-filled value as a form field holds it.
func formValue(x any) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
