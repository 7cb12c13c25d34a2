package catalogue

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

var serviceKeys = append([]string{"id", "title", "description", "agency", "curator", "mode",
	"registry", "legal_basis", "editable"}, specKeys...)

func parseService(r *reader, n *yaml.Node) *Service {
	ctx := fmt.Sprintf("service %q", peek(n, "id"))
	m := r.fields(n, ctx, serviceKeys...)
	if !r.require(m, n, ctx, "id", "title", "agency", "curator", "mode", "legal_basis") && m["id"] == nil {
		return nil
	}
	s := &Service{pos: r.at(n)}
	s.ID = r.id(m["id"], ctx, "id")
	if v := m["title"]; v != nil {
		s.Title = r.text(v, ctx, "title")
	}
	if v := m["description"]; v != nil {
		s.Description = r.text(v, ctx, "description")
	}
	if v := m["agency"]; v != nil {
		s.Agency = r.str(v, ctx, "agency")
	}
	if v := m["curator"]; v != nil {
		cc := ctx + ": curator"
		c := r.fields(v, cc, "name", "agency")
		r.require(c, v, cc, "name", "agency")
		if x := c["name"]; x != nil {
			s.Curator.Name = r.str(x, cc, "name")
		}
		if x := c["agency"]; x != nil {
			s.Curator.Agency = r.str(x, cc, "agency")
		}
	}
	if v := m["mode"]; v != nil {
		s.Mode = Mode(r.str(v, ctx, "mode"))
		if s.Mode != "" && !s.Mode.valid() {
			r.errorf(v, ctx, "mode %q is not one of grant, grant_opt_out, draft, inform", s.Mode)
		}
	}
	if v := m["registry"]; v != nil {
		s.Registry = r.id(v, ctx, "registry")
	}
	if s.Mode.Grants() && s.Registry == "" {
		r.errorf(n, ctx, "mode %s needs a registry: a grant is an entry in a registry", s.Mode)
	}
	if v := m["legal_basis"]; v != nil {
		s.LegalBasis = r.str(v, ctx, "legal_basis")
	}
	if v := m["editable"]; v != nil {
		s.Editable = parseEditable(r, v, ctx)
	}
	parseSpec(r, m, ctx, &s.spec)
	return s
}

func parseSpec(r *reader, m map[string]*yaml.Node, ctx string, sp *stepSpec) {
	for key, dst := range map[string]**expr{
		"applies_when": &sp.appliesWhen, "for_each": &sp.forEach,
		"applicant": &sp.applicant, "beneficiary": &sp.beneficiary,
	} {
		if v := m[key]; v != nil {
			*dst = r.expr(v, ctx, key)
		}
	}
	if v := m["let"]; v != nil {
		sp.lets = r.bindings(v, ctx, "let")
	}
	if v := m["prefill"]; v != nil {
		sp.prefill = r.bindings(v, ctx, "prefill")
	}
	if v := m["rules"]; v != nil {
		for i, rn := range r.seq(v, ctx, "rules") {
			if ru := parseRule(r, rn, fmt.Sprintf("%s: rule %d", ctx, i+1), i+1); ru != nil {
				sp.rules = append(sp.rules, ru)
			}
		}
	}
	if v := m["notes"]; v != nil {
		for i, nn := range r.seq(v, ctx, "notes") {
			nc := fmt.Sprintf("%s: note %d", ctx, i+1)
			f := r.fields(nn, nc, "condition", "text", "legal_basis")
			if !r.require(f, nn, nc, "condition", "text") {
				continue
			}
			no := &note{condition: r.expr(f["condition"], nc, "condition"), text: r.text(f["text"], nc, "text")}
			if lb := f["legal_basis"]; lb != nil {
				no.legalBasis = r.str(lb, nc, "legal_basis")
			}
			sp.notes = append(sp.notes, no)
		}
	}
	if v := m["deadline"]; v != nil {
		sp.deadline = parseDeadline(r, v, ctx)
	}
	if v := m["reminders"]; v != nil {
		sp.hasRemind = true
		sp.reminders = parseReminders(r, v, ctx)
	}
	if v := m["on_expiry"]; v != nil {
		oc := ctx + ": on_expiry"
		f := r.fields(v, oc, "notify")
		if r.require(f, v, oc, "notify") {
			sp.onExpiry = r.id(f["notify"], oc, "notify")
			sp.onExpiryPos = r.at(f["notify"])
		}
	}
	if v := m["follow_ups"]; v != nil {
		sp.hasFollow = true
		sp.followUps = parseSteps(r, v, ctx, "follow_ups")
	}
}

func (r *reader) bindings(n *yaml.Node, ctx, field string) []binding {
	var out []binding
	for _, p := range r.pairs(n, ctx+": "+field) {
		bc := fmt.Sprintf("%s: %s %q", ctx, field, p.key)
		if !fieldName.MatchString(p.key) {
			r.errorf(p.kpos, bc, "name must be lower-case letters, digits and underscores")
			continue
		}
		if e := r.expr(p.val, ctx, fmt.Sprintf("%s %q", field, p.key)); e != nil {
			out = append(out, binding{name: p.key, e: e})
		}
	}
	return out
}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func parseRule(r *reader, n *yaml.Node, ctx string, index int) *rule {
	f := r.fields(n, ctx, "id", "condition", "reason", "legal_basis")
	if !r.require(f, n, ctx, "condition", "reason", "legal_basis") {
		return nil
	}
	ru := &rule{
		id:         fmt.Sprintf("rule-%d", index),
		condition:  r.expr(f["condition"], ctx, "condition"),
		reason:     r.text(f["reason"], ctx, "reason"),
		legalBasis: r.str(f["legal_basis"], ctx, "legal_basis"),
	}
	if v := f["id"]; v != nil {
		ru.id = r.id(v, ctx, "id")
	}
	return ru
}

func parseDeadline(r *reader, n *yaml.Node, ctx string) *Deadline {
	ctx += ": deadline"
	d := &Deadline{From: "event", Unit: "days", pos: r.at(n), ctx: ctx}
	if n.Kind == yaml.ScalarNode {
		days, ok := r.integer(n, ctx, "days")
		if !ok {
			return nil
		}
		d.Days = days
		if days < 0 {
			r.errorf(n, ctx, "days must not be negative")
		}
		return d
	}
	f := r.fields(n, ctx, "days", "months", "param", "unit", "from")
	set := 0
	for _, k := range []string{"days", "months", "param"} {
		if f[k] != nil {
			set++
		}
	}
	if set != 1 {
		r.errorf(n, ctx, "give exactly one of days, months or param")
		return nil
	}
	for key, dst := range map[string]*int{"days": &d.Days, "months": &d.Months} {
		if v := f[key]; v != nil {
			if x, ok := r.integer(v, ctx, key); ok {
				*dst = x
				if x < 0 {
					r.errorf(v, ctx, "%s must not be negative", key)
				}
			}
		}
	}
	if v := f["param"]; v != nil {
		d.Param = r.str(v, ctx, "param")
	}
	if v := f["unit"]; v != nil {
		if d.Param == "" {
			r.errorf(v, ctx, "unit is only for a deadline read from a param")
		}
		d.Unit = r.str(v, ctx, "unit")
		if d.Unit != "days" && d.Unit != "months" {
			r.errorf(v, ctx, "unit %q is not days or months", d.Unit)
		}
	}
	if v := f["from"]; v != nil {
		d.From = r.str(v, ctx, "from")
		if d.From != "event" && d.From != "decision" {
			r.errorf(v, ctx, "from %q is not event or decision", d.From)
		}
	}
	return d
}

func parseReminders(r *reader, n *yaml.Node, ctx string) []Reminder {
	ctx += ": reminders"
	var out []Reminder
	for i, rn := range r.seq(n, ctx, "reminders") {
		rc := fmt.Sprintf("%s: %d", ctx, i+1)
		f := r.fields(rn, rc, "after", "before")
		if len(f) != 1 {
			r.errorf(rn, rc, "give exactly one of after (days after the deadline's start) or before (days before the deadline)")
			continue
		}
		for k, v := range f {
			x, ok := r.integer(v, rc, k)
			if !ok {
				continue
			}
			if x < 0 {
				r.errorf(v, rc, "%s must not be negative", k)
				continue
			}
			if k == "after" {
				out = append(out, Reminder{After: x})
			} else {
				out = append(out, Reminder{Before: x, before: true})
			}
		}
	}
	return out
}

var fieldTypes = map[string]bool{"string": true, "int": true, "number": true, "bool": true, "date": true}

func parseEditable(r *reader, n *yaml.Node, ctx string) []*EditableField {
	var out []*EditableField
	for _, p := range r.pairs(n, ctx+": editable") {
		fc := fmt.Sprintf("%s: editable %q", ctx, p.key)
		if !fieldName.MatchString(p.key) {
			r.errorf(p.kpos, fc, "field name must be lower-case letters, digits and underscores")
		}
		f := r.fields(p.val, fc, "type", "pattern", "rule", "message")
		if !r.require(f, p.val, fc, "type") {
			continue
		}
		ef := &EditableField{Name: p.key, Type: r.str(f["type"], fc, "type"), Message: defaultFieldMessage}
		if ef.Type != "" && !fieldTypes[ef.Type] {
			r.errorf(f["type"], fc, "type %q is not one of string, int, number, bool, date", ef.Type)
		}
		if v := f["pattern"]; v != nil {
			ef.Pattern = r.str(v, fc, "pattern")
			re, err := regexp.Compile(ef.Pattern)
			if err != nil {
				r.errorf(v, fc, "pattern: %v", err)
			}
			if ef.Type != "string" && ef.Type != "date" {
				r.errorf(v, fc, "pattern applies only to string and date fields")
			}
			ef.pattern = re
		}
		if v := f["rule"]; v != nil {
			ef.rule = r.expr(v, fc, "rule")
			ef.Rule = ef.rule.source()
		}
		if v := f["message"]; v != nil {
			ef.Message = r.text(v, fc, "message")
		}
		out = append(out, ef)
	}
	return out
}

var defaultFieldMessage = Text{RU: "значение не подходит", EN: "the value is not acceptable"}
