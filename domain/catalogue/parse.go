package catalogue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// parsed is the catalogue as written, before references are linked and
// expressions compiled.
type parsed struct {
	version    string
	versionPos *pos
	events     map[string]*EventType
	eventPos   map[string]pos
	situations []*Situation
	services   []*Service
	params     []*Parameter
	canon      canonical
}

var topKeys = []string{"version", "description", "events", "situations", "services", "parameters"}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (pr *parsed) parseFile(file string, data []byte, probs *problems) {
	r := &reader{file: file, probs: probs}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			line, msg := 0, err.Error()
			if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			probs.add(pos{file: file, line: line}, "", "invalid YAML: %s", msg)
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		pr.parseDocument(r, doc.Content[0])
	}
}

func (pr *parsed) parseDocument(r *reader, root *yaml.Node) {
	m := r.fields(root, "", topKeys...)
	if v, ok := m["version"]; ok {
		if pr.versionPos != nil {
			r.errorf(v, "", "version declared again (first at %s:%d)", pr.versionPos.file, pr.versionPos.line)
		} else {
			p := r.at(v)
			pr.versionPos = &p
			pr.version = r.str(v, "", "version")
			pr.canon.version = pr.version
		}
	}
	if v, ok := m["description"]; ok {
		r.text(v, "", "description")
	}
	if v, ok := m["events"]; ok {
		for _, p := range r.pairs(v, "events") {
			pr.parseEvent(r, p)
		}
	}
	if v, ok := m["situations"]; ok {
		for _, n := range r.seq(v, "", "situations") {
			if s := parseSituation(r, n); s != nil {
				pr.situations = append(pr.situations, s)
				pr.canon.add("situations", s.ID, n)
			}
		}
	}
	if v, ok := m["services"]; ok {
		for _, n := range r.seq(v, "", "services") {
			if s := parseService(r, n); s != nil {
				pr.services = append(pr.services, s)
				pr.canon.add("services", s.ID, n)
			}
		}
	}
	if v, ok := m["parameters"]; ok {
		for _, n := range r.seq(v, "", "parameters") {
			if p := parseParameter(r, n); p != nil {
				pr.params = append(pr.params, p)
				pr.canon.add("parameters", p.Name, n)
			}
		}
	}
}

func (pr *parsed) parseEvent(r *reader, p pair) {
	ctx := fmt.Sprintf("event %q", p.key)
	if first, dup := pr.eventPos[p.key]; dup {
		r.errorf(p.kpos, ctx, "declared again (first at %s:%d)", first.file, first.line)
		return
	}
	m := r.fields(p.val, ctx, "fields", "description")
	r.require(m, p.val, ctx, "fields")
	et := &EventType{Type: p.key, fields: map[string]bool{}}
	if v, ok := m["fields"]; ok {
		et.Fields = r.strList(v, ctx, "fields")
		for _, f := range et.Fields {
			et.fields[f] = true
		}
	}
	if m["description"] != nil {
		r.text(m["description"], ctx, "description")
	}
	pr.events[p.key] = et
	pr.eventPos[p.key] = r.at(p.kpos)
	pr.canon.add("events", p.key, p.val)
}

// peek reads a scalar key of a mapping without reporting anything, to name
// the thing in later messages.
func peek(n *yaml.Node, key string) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && resolve(n.Content[i+1]).Kind == yaml.ScalarNode {
			return resolve(n.Content[i+1]).Value
		}
	}
	return ""
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

func (r *reader) id(n *yaml.Node, ctx, field string) string {
	s := r.str(n, ctx, field)
	if s != "" && !idPattern.MatchString(s) {
		r.errorf(n, ctx, "%s: %q must be lower-case letters, digits, dots and dashes", field, s)
	}
	return s
}

var situationKeys = []string{"id", "title", "description", "trigger", "window_days",
	"applicant", "beneficiary", "participants", "withdraw_drafts_of", "steps"}

func parseSituation(r *reader, n *yaml.Node) *Situation {
	ctx := fmt.Sprintf("situation %q", peek(n, "id"))
	m := r.fields(n, ctx, situationKeys...)
	if !r.require(m, n, ctx, "id", "title", "trigger", "window_days", "applicant", "steps") {
		if m["id"] == nil {
			return nil
		}
	}
	s := &Situation{pos: r.at(n)}
	s.ID = r.id(m["id"], ctx, "id")
	if v := m["title"]; v != nil {
		s.Title = r.text(v, ctx, "title")
	}
	if v := m["description"]; v != nil {
		s.Description = r.text(v, ctx, "description")
	}
	if v := m["trigger"]; v != nil {
		tc := ctx + ": trigger"
		t := r.fields(v, tc, "event", "condition", "date")
		r.require(t, v, tc, "event", "date")
		if e := t["event"]; e != nil {
			s.Trigger.Event = r.str(e, tc, "event")
		}
		if e := t["condition"]; e != nil {
			s.condition = r.expr(e, tc, "condition")
		}
		if e := t["date"]; e != nil {
			s.date = r.expr(e, tc, "date")
		}
		s.Trigger.Condition, s.Trigger.Date = s.condition.source(), s.date.source()
	}
	if v := m["window_days"]; v != nil {
		if d, ok := r.integer(v, ctx, "window_days"); ok {
			if d < 0 {
				r.errorf(v, ctx, "window_days must not be negative")
			}
			s.WindowDays = d
		}
	}
	for key, dst := range map[string]**expr{
		"applicant": &s.applicant, "beneficiary": &s.beneficiary,
		"participants": &s.participants, "withdraw_drafts_of": &s.withdraws,
	} {
		if v := m[key]; v != nil {
			*dst = r.expr(v, ctx, key)
		}
	}
	if v := m["steps"]; v != nil {
		s.Steps = parseSteps(r, v, ctx, "steps")
		if len(s.Steps) == 0 {
			r.errorf(v, ctx, "steps: a situation needs at least one step")
		}
	}
	return s
}

func parseSteps(r *reader, n *yaml.Node, ctx, field string) []*Step {
	var out []*Step
	ids := map[string]pos{}
	for i, sn := range r.seq(n, ctx, field) {
		st := parseStep(r, sn, ctx, i+1)
		if st == nil {
			continue
		}
		if first, dup := ids[st.ID]; dup {
			r.errorf(sn, ctx, "step %q: duplicate step id (first at %s:%d); give one of them an id", st.ID, first.file, first.line)
			continue
		}
		ids[st.ID] = st.pos
		out = append(out, st)
	}
	return out
}

var specKeys = []string{"applies_when", "for_each", "applicant", "beneficiary", "let", "rules",
	"notes", "prefill", "deadline", "reminders", "on_expiry", "follow_ups"}

func parseStep(r *reader, n *yaml.Node, parent string, index int) *Step {
	name := peek(n, "id")
	if name == "" {
		name = peek(n, "service")
	}
	ctx := fmt.Sprintf("%s: step %d", parent, index)
	if name != "" {
		ctx = fmt.Sprintf("%s: step %q", parent, name)
	}
	m := r.fields(n, ctx, append([]string{"id", "service"}, specKeys...)...)
	if !r.require(m, n, ctx, "service") {
		return nil
	}
	st := &Step{pos: r.at(n), ctx: ctx}
	st.ID = r.id(m["service"], ctx, "service")
	if v := m["id"]; v != nil {
		st.ID = r.id(v, ctx, "id")
	}
	// The service is linked later; keep its code for now.
	st.Service = &Service{ID: r.str(m["service"], ctx, "service"), pos: r.at(m["service"])}
	parseSpec(r, m, ctx, &st.spec)
	return st
}
