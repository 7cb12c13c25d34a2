package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"lifesituations/domain/catalogue"
	defaultcatalogue "lifesituations/domain/catalogue/default"
)

// The catalogue's documentation, docs/catalogue.md, is generated from the
// catalogue data by `lifesituations catalogue doc`, so that it cannot drift
// from what runs. The loaded catalogue gives what it exports (situations,
// services, curators, parameters and their values, version, hash); the
// step settings it keeps compiled (rules, deadlines, follow-ups...) are read
// from the same YAML files, after the loader has accepted them.

const catalogueDocSummary = `Prints the documentation of the catalogue in DIR (default: the catalogue
embedded in this binary) as Markdown, generated from the catalogue data:
situations, triggers, windows, steps with their rules, reasons, legal basis,
deadlines, reminders and follow-ups, services, curators, parameters with
their values, version and hash. docs/catalogue.md is this output:

    go run ./cmd/lifesituations catalogue doc > docs/catalogue.md`

// docRegenerate is the command that writes docs/catalogue.md.
const docRegenerate = "go run ./cmd/lifesituations catalogue doc > docs/catalogue.md"

// catalogueDoc: lifesituations catalogue doc [--out FILE] [DIR].
func catalogueDoc(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("catalogue doc", catalogueDocSummary, stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lifesituations catalogue doc [flags] [DIR]\n\n%s\n\nFlags (each also LIFESITUATIONS_<FLAG> in the environment):\n", catalogueDocSummary)
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("catalogue doc: give at most one catalogue directory")
	}
	var doc []byte
	var err error
	if fs.NArg() == 1 {
		dir := fs.Arg(0)
		if _, err := loadCatalogueDir(dir); err != nil {
			var bad *catalogue.LoadError
			if errors.As(err, &bad) {
				for _, p := range bad.Problems {
					fmt.Fprintln(stderr, p.String())
				}
				return fmt.Errorf("catalogue %s refused: %d problem(s)", dir, len(bad.Problems))
			}
			return err
		}
		doc, err = catalogueMarkdown(os.DirFS(dir))
	} else {
		doc, err = catalogueMarkdown(defaultcatalogue.FS)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		return os.WriteFile(*out, doc, 0o644)
	}
	_, err = stdout.Write(doc)
	return err
}

// catalogueMarkdown generates the documentation of the catalogue in fsys.
// The same files give the same bytes.
func catalogueMarkdown(fsys fs.FS) ([]byte, error) {
	cat, err := catalogue.Load(fsys)
	if err != nil {
		return nil, err
	}
	raw, err := readRawCatalogue(fsys)
	if err != nil {
		return nil, err
	}
	g := &docGen{cat: cat, raw: raw, paramUse: map[string][]string{}, serviceUse: map[string][]string{}}
	g.collect()
	g.write()
	return g.b.Bytes(), nil
}

// --- the catalogue as written -------------------------------------------------

type rawCatalogue struct {
	description catalogue.Text
	events      []rawEvent
	situations  map[string]*rawSituation
	services    map[string]*rawSpec
	params      []string          // names in written order
	values      map[string]string // "name|region|valid_from" -> the value as written
}

type rawEvent struct {
	typ    string
	fields []string
}

type rawSituation struct {
	applicant, beneficiary, participants, withdraws string
	steps                                           []*rawStep
}

type rawStep struct {
	id, service string
	spec        rawSpec
}

type kv struct{ key, value string }

// rawSpec is a service's or a step's settings as written.
type rawSpec struct {
	has                                          map[string]bool
	appliesWhen, forEach, applicant, beneficiary string
	lets, prefill                                []kv
	rules                                        []rawRule
	notes                                        []rawNote
	deadline, reminders                          *yaml.Node
	onExpiry                                     string
	followUps                                    []*rawStep
}

type rawRule struct {
	id, condition, legalBasis string
	reason                    catalogue.Text
}

type rawNote struct {
	condition, legalBasis string
	text                  catalogue.Text
}

// readRawCatalogue reads the files the loader reads, in the same order.
func readRawCatalogue(fsys fs.FS) (*rawCatalogue, error) {
	raw := &rawCatalogue{situations: map[string]*rawSituation{}, services: map[string]*rawSpec{}, values: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && d.Name() == catalogue.TestsDir {
			return fs.SkipDir
		}
		if d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("%s: %w", p, err)
			}
			if len(doc.Content) > 0 {
				raw.document(doc.Content[0])
			}
		}
	})
	return raw, err
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pairsOf is a mapping's entries in written order.
func pairsOf(n *yaml.Node) []kvNode {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]kvNode, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, kvNode{key: deref(n.Content[i]).Value, val: deref(n.Content[i+1])})
	}
	return out
}

type kvNode struct {
	key string
	val *yaml.Node
}

func field(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairsOf(n) {
		if p.key == key {
			return p.val
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n = deref(n); n == nil {
		return ""
	}
	return n.Value
}

func textOf(n *yaml.Node) catalogue.Text {
	return catalogue.Text{RU: scalar(field(n, "ru")), EN: scalar(field(n, "en"))}
}

func itemsOf(n *yaml.Node) []*yaml.Node {
	if n = deref(n); n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out
}

func (raw *rawCatalogue) document(root *yaml.Node) {
	for _, p := range pairsOf(root) {
		switch p.key {
		case "description":
			raw.description = textOf(p.val)
		case "events":
			for _, e := range pairsOf(p.val) {
				ev := rawEvent{typ: e.key}
				for _, f := range itemsOf(field(e.val, "fields")) {
					ev.fields = append(ev.fields, f.Value)
				}
				raw.events = append(raw.events, ev)
			}
		case "situations":
			for _, s := range itemsOf(p.val) {
				rs := &rawSituation{
					applicant: scalar(field(s, "applicant")), beneficiary: scalar(field(s, "beneficiary")),
					participants: scalar(field(s, "participants")), withdraws: scalar(field(s, "withdraw_drafts_of")),
				}
				for _, st := range itemsOf(field(s, "steps")) {
					rs.steps = append(rs.steps, rawStepOf(st))
				}
				raw.situations[scalar(field(s, "id"))] = rs
			}
		case "services":
			for _, s := range itemsOf(p.val) {
				sp := rawSpecOf(s)
				raw.services[scalar(field(s, "id"))] = &sp
			}
		case "parameters":
			for _, pn := range itemsOf(p.val) {
				name := scalar(field(pn, "name"))
				raw.params = append(raw.params, name)
				for _, v := range itemsOf(field(pn, "values")) {
					region := scalar(field(v, "region"))
					if field(pn, "keyed_by") == nil {
						region = ""
					}
					raw.values[name+"|"+region+"|"+scalar(field(v, "valid_from"))] = scalar(field(v, "value"))
				}
			}
		}
	}
}

func rawStepOf(n *yaml.Node) *rawStep {
	st := &rawStep{service: scalar(field(n, "service")), id: scalar(field(n, "id")), spec: rawSpecOf(n)}
	if st.id == "" {
		st.id = st.service
	}
	return st
}

func rawSpecOf(n *yaml.Node) rawSpec {
	sp := rawSpec{has: map[string]bool{}}
	for _, p := range pairsOf(n) {
		sp.has[p.key] = true
		switch p.key {
		case "applies_when":
			sp.appliesWhen = p.val.Value
		case "for_each":
			sp.forEach = p.val.Value
		case "applicant":
			sp.applicant = p.val.Value
		case "beneficiary":
			sp.beneficiary = p.val.Value
		case "let":
			for _, b := range pairsOf(p.val) {
				sp.lets = append(sp.lets, kv{b.key, b.val.Value})
			}
		case "prefill":
			for _, b := range pairsOf(p.val) {
				sp.prefill = append(sp.prefill, kv{b.key, b.val.Value})
			}
		case "rules":
			for i, r := range itemsOf(p.val) {
				id := scalar(field(r, "id"))
				if id == "" {
					id = fmt.Sprintf("rule-%d", i+1)
				}
				sp.rules = append(sp.rules, rawRule{id: id, condition: scalar(field(r, "condition")),
					reason: textOf(field(r, "reason")), legalBasis: scalar(field(r, "legal_basis"))})
			}
		case "notes":
			for _, r := range itemsOf(p.val) {
				sp.notes = append(sp.notes, rawNote{condition: scalar(field(r, "condition")),
					text: textOf(field(r, "text")), legalBasis: scalar(field(r, "legal_basis"))})
			}
		case "deadline":
			sp.deadline = p.val
		case "reminders":
			sp.reminders = p.val
		case "on_expiry":
			sp.onExpiry = scalar(field(p.val, "notify"))
		case "follow_ups":
			for _, f := range itemsOf(p.val) {
				sp.followUps = append(sp.followUps, rawStepOf(f))
			}
		}
	}
	return sp
}

// effective merges a step's settings over its service's, as the loader
// does: rules, notes and lets add to the service's; a prefill field
// replaces the service's of the same name; the rest replace when given.
func effective(svc, step rawSpec) rawSpec {
	out := rawSpec{has: map[string]bool{}}
	for k := range svc.has {
		out.has[k] = true
	}
	for k := range step.has {
		out.has[k] = true
	}
	pick := func(key, s, t string) string {
		if step.has[key] {
			return t
		}
		return s
	}
	out.appliesWhen = pick("applies_when", svc.appliesWhen, step.appliesWhen)
	out.forEach = pick("for_each", svc.forEach, step.forEach)
	out.applicant = pick("applicant", svc.applicant, step.applicant)
	out.beneficiary = pick("beneficiary", svc.beneficiary, step.beneficiary)
	out.onExpiry = pick("on_expiry", svc.onExpiry, step.onExpiry)
	out.lets = append(append([]kv(nil), svc.lets...), step.lets...)
	out.rules = append(append([]rawRule(nil), svc.rules...), step.rules...)
	out.notes = append(append([]rawNote(nil), svc.notes...), step.notes...)
	out.prefill = append([]kv(nil), svc.prefill...)
	for _, f := range step.prefill {
		replaced := false
		for i := range out.prefill {
			if out.prefill[i].key == f.key {
				out.prefill[i], replaced = f, true
			}
		}
		if !replaced {
			out.prefill = append(out.prefill, f)
		}
	}
	out.deadline, out.reminders, out.followUps = svc.deadline, svc.reminders, svc.followUps
	if step.has["deadline"] {
		out.deadline = step.deadline
	}
	if step.has["reminders"] {
		out.reminders = step.reminders
	}
	if step.has["follow_ups"] {
		out.followUps = step.followUps
	}
	return out
}

// --- writing ---------------------------------------------------------------

type docGen struct {
	cat        *catalogue.Catalogue
	raw        *rawCatalogue
	b          bytes.Buffer
	paramUse   map[string][]string // parameter -> where it is read
	serviceUse map[string][]string // service -> steps using it
}

func (g *docGen) p(format string, args ...any) { fmt.Fprintf(&g.b, format, args...) }

var paramCall = regexp.MustCompile(`param\(\s*["']([^"']+)["']`)

// collect finds where each service and parameter is used.
func (g *docGen) collect() {
	use := func(where string, exprs ...string) {
		for _, e := range exprs {
			for _, m := range paramCall.FindAllStringSubmatch(e, -1) {
				g.addUse(g.paramUse, m[1], where)
			}
		}
	}
	var walk func(prefix string, st *rawStep, seen map[*rawStep]bool)
	walk = func(prefix string, st *rawStep, seen map[*rawStep]bool) {
		if seen[st] {
			return
		}
		seen[st] = true
		where := prefix + " › " + st.id
		g.addUse(g.serviceUse, st.service, where)
		sp := g.effectiveOf(st)
		exprs := []string{sp.appliesWhen, sp.forEach, sp.applicant, sp.beneficiary}
		for _, l := range append(append([]kv(nil), sp.lets...), sp.prefill...) {
			exprs = append(exprs, l.value)
		}
		for _, r := range sp.rules {
			exprs = append(exprs, r.condition)
		}
		for _, n := range sp.notes {
			exprs = append(exprs, n.condition)
		}
		use(where, exprs...)
		if name := scalar(field(sp.deadline, "param")); name != "" {
			g.addUse(g.paramUse, name, where+" (deadline)")
		}
		if sp.onExpiry != "" {
			g.addUse(g.serviceUse, sp.onExpiry, where+" (on expiry)")
		}
		for _, f := range sp.followUps {
			walk(where, f, seen)
		}
	}
	for _, s := range g.cat.AllSituations() {
		rs := g.raw.situations[s.ID]
		if rs == nil {
			continue
		}
		use(s.ID, s.Trigger.Condition, s.Trigger.Date, rs.applicant, rs.beneficiary, rs.participants, rs.withdraws)
		for _, st := range rs.steps {
			walk(s.ID, st, map[*rawStep]bool{})
		}
	}
}

func (g *docGen) addUse(m map[string][]string, key, where string) {
	for _, w := range m[key] {
		if w == where {
			return
		}
	}
	m[key] = append(m[key], where)
}

func (g *docGen) effectiveOf(st *rawStep) rawSpec {
	svc := g.raw.services[st.service]
	if svc == nil {
		svc = &rawSpec{has: map[string]bool{}}
	}
	return effective(*svc, st.spec)
}

func (g *docGen) write() {
	cat := g.cat
	g.p("# The life-situation catalogue\n\n")
	g.p("<!-- Generated from the catalogue data (domain/catalogue/default) by `lifesituations catalogue doc`.\n")
	g.p("     Do not edit: change the catalogue, then run\n     %s -->\n\n", docRegenerate)
	g.p("Catalogue version **%s**, content hash `%s`.\n\n", cat.Version(), cat.Hash())
	if d := g.raw.description; d.EN != "" || d.RU != "" {
		g.p("%s. *%s.*\n\n", strings.TrimSuffix(d.EN, "."), strings.TrimSuffix(d.RU, "."))
	}
	g.p("The catalogue is data: YAML files with CEL expressions, loaded and checked by\n")
	g.p("`domain/catalogue` (its package documentation describes the format). Every decision\n")
	g.p("records the catalogue version and hash it was taken with. Curators check a changed\n")
	g.p("catalogue with `lifesituations catalogue check DIR` and run its test cases with\n")
	g.p("`lifesituations catalogue test DIR` (see [Test cases](#test-cases)).\n\n")
	g.p("Expressions below are CEL as written in the catalogue: `event` is the trigger event's\n")
	g.p("data, `people[id]` what the register knows of a person, `param(name)` a parameter's\n")
	g.p("value in force on the day of the life event, `item` the element of a `for each`.\n\n")

	g.p("## Contents\n\n")
	g.p("- [Situations](#situations)\n")
	for _, s := range cat.AllSituations() {
		g.p("  - [`%s`: %s](#situation-%s)\n", s.ID, s.Title.EN, s.ID)
	}
	g.p("- [Trigger events](#trigger-events)\n- [Services](#services)\n- [Curators](#curators)\n- [Parameters](#parameters)\n- [Test cases](#test-cases)\n\n")

	g.p("## Situations\n\n")
	g.p("| Situation | Trigger | Window | Steps |\n|---|---|---|---|\n")
	for _, s := range cat.AllSituations() {
		var steps []string
		for _, st := range s.Steps {
			steps = append(steps, "`"+st.ID+"`")
		}
		g.p("| [`%s`](#situation-%s) %s | `%s` | %s | %s |\n", s.ID, s.ID, cell(s.Title.EN), s.Trigger.Event, windowText(s.WindowDays), strings.Join(steps, ", "))
	}
	g.p("\n")
	for _, s := range cat.AllSituations() {
		g.situation(s)
	}
	g.events()
	g.services()
	g.curators()
	g.parameters()
	g.p("## Test cases\n\n")
	g.p("The catalogue's test cases live beside it, in `tests/` (for the default catalogue,\n")
	g.p("`domain/catalogue/default/tests/`); `lifesituations catalogue test DIR` runs them,\n")
	g.p("and so does CI. The format, as `lifesituations catalogue test --help` prints it:\n\n")
	g.p("```text\n%s\n```\n", casesFormat)
}

func windowText(days int) string {
	if days <= 0 {
		return "none"
	}
	return fmt.Sprintf("%d days", days)
}

// cell makes a text safe in a table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code is an expression as inline code, on one line.
func code(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

func (g *docGen) situation(s *catalogue.Situation) {
	rs := g.raw.situations[s.ID]
	if rs == nil {
		rs = &rawSituation{}
	}
	g.p("<a id=\"situation-%s\"></a>\n\n### `%s`: %s\n\n", s.ID, s.ID, s.Title.EN)
	g.p("*%s*\n\n", s.Title.RU)
	if s.Description.EN != "" {
		g.p("%s\n\n*%s*\n\n", s.Description.EN, s.Description.RU)
	}
	g.p("| | |\n|---|---|\n")
	g.p("| Trigger | [`%s`](#trigger-events) |\n", s.Trigger.Event)
	if s.Trigger.Condition != "" {
		g.p("| Only when | %s |\n", cell(code(s.Trigger.Condition)))
	}
	g.p("| Date of the life event | %s |\n", cell(code(s.Trigger.Date)))
	g.p("| Window | %s: an older life event updates the register and opens nothing |\n", windowText(s.WindowDays))
	g.p("| Applicant | %s |\n", cell(code(rs.applicant)))
	if rs.beneficiary != "" {
		g.p("| Beneficiary | %s |\n", cell(code(rs.beneficiary)))
	} else {
		g.p("| Beneficiary | the applicant |\n")
	}
	if rs.participants != "" {
		g.p("| Participants | %s |\n", cell(code(rs.participants)))
	} else {
		g.p("| Participants | the applicant |\n")
	}
	if rs.withdraws != "" {
		g.p("| Withdraws every open draft of | %s |\n", cell(code(rs.withdraws)))
	}
	g.p("\n")

	g.p("| # | Step | Service | Mode | Applicant | Only when | Deadline |\n|---|---|---|---|---|---|---|\n")
	defBeneficiary := "the applicant"
	if rs.beneficiary != "" {
		defBeneficiary = "as the situation (" + code(rs.beneficiary) + ")"
	}
	for i, st := range rs.steps {
		sp := g.effectiveOf(st)
		svc, _ := g.cat.Service(st.service)
		anchor := fmt.Sprintf("#step-%s-%s", s.ID, anchorPart(st.id))
		applicant := "as the situation"
		if sp.applicant != "" {
			applicant = code(sp.applicant)
			if len(sp.applicant) > 40 {
				applicant = "[see the step](" + anchor + ")"
			}
		}
		name := fmt.Sprintf("[`%s`](%s)", st.id, anchor)
		if sp.forEach != "" {
			name += " (one per item)"
		}
		when := "always"
		if sp.appliesWhen != "" {
			when = code(sp.appliesWhen)
		}
		g.p("| %d | %s | [%s](#service-%s) | %s | %s | %s | %s |\n", i+1, name,
			cell(titleOf(svc)), st.service, modeOf(svc), cell(applicant), cell(when), cell(orDash(g.deadlineText(sp.deadline, true))))
	}
	g.p("\n")
	for _, st := range rs.steps {
		g.step(s.ID, nil, st, "as the situation ("+code(rs.applicant)+")", defBeneficiary, map[*rawStep]bool{})
	}
}

func titleOf(svc *catalogue.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Title.EN
}

func modeOf(svc *catalogue.Service) string {
	if svc == nil {
		return ""
	}
	switch svc.Mode {
	case catalogue.ModeGrant:
		return "grant"
	case catalogue.ModeGrantOptOut:
		return "grant, opt-out"
	case catalogue.ModeDraft:
		return "draft"
	case catalogue.ModeInform:
		return "information"
	}
	return string(svc.Mode)
}

func anchorPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// step documents one step and, after it, its follow-ups.
func (g *docGen) step(situation string, parents []string, st *rawStep, defApplicant, defBeneficiary string, seen map[*rawStep]bool) {
	path := append(append([]string(nil), parents...), st.id)
	anchor := "step-" + situation
	for _, p := range path {
		anchor += "-" + anchorPart(p)
	}
	g.p("<a id=\"%s\"></a>\n\n#### %s › %s\n\n", anchor, situation, strings.Join(path, " › "))
	if seen[st] {
		g.p("The same step as above, offered again.\n\n")
		return
	}
	seen[st] = true
	sp := g.effectiveOf(st)
	svc, _ := g.cat.Service(st.service)
	if svc != nil {
		g.p("- **Service**: [`%s`](#service-%s), %s; mode **%s**", svc.ID, svc.ID, svc.Title.EN, modeOf(svc))
		if svc.Registry != "" {
			g.p(", registry `%s`", svc.Registry)
		}
		g.p("\n- **Curator**: %s (%s)\n", svc.Curator.Name, svc.Curator.Agency)
		g.p("- **Legal basis**: %s\n", svc.LegalBasis)
	}
	applicant, beneficiary := defApplicant, defBeneficiary
	if sp.applicant != "" {
		applicant = code(sp.applicant)
	}
	if sp.beneficiary != "" {
		beneficiary = code(sp.beneficiary)
	}
	g.p("- **Applicant**: %s\n- **Beneficiary**: %s\n", applicant, beneficiary)
	if sp.appliesWhen != "" {
		g.p("- **Only when**: %s\n", code(sp.appliesWhen))
	}
	if sp.forEach != "" {
		g.p("- **For each** (one step per `item`): %s\n", code(sp.forEach))
	}
	if len(sp.lets) > 0 {
		g.p("- **Values computed** (in order):\n")
		for _, l := range sp.lets {
			g.p("  - `%s` = %s\n", l.key, code(l.value))
		}
	}
	if len(sp.rules) > 0 {
		g.p("- **Rules**: each must hold; every one that fails is a reason of the rejection:\n")
		for _, r := range sp.rules {
			g.p("  - `%s`: %s\n", r.id, code(r.condition))
			g.p("    - when it fails: %s\n", r.reason.EN)
			g.p("    - *%s*\n", r.reason.RU)
			g.p("    - legal basis: %s\n", r.legalBasis)
		}
	} else {
		g.p("- **Rules**: none: always %s\n", outcomeOf(svc))
	}
	if len(sp.notes) > 0 {
		g.p("- **Notes** added to the reasons:\n")
		for _, n := range sp.notes {
			g.p("  - when %s: %s\n", code(n.condition), n.text.EN)
			g.p("    - *%s*\n", n.text.RU)
			if n.legalBasis != "" {
				g.p("    - legal basis: %s\n", n.legalBasis)
			}
		}
	}
	if len(sp.prefill) > 0 {
		what := "Pre-filled fields"
		if svc != nil && svc.Mode.Grants() {
			what = "Details of the grant"
		}
		g.p("- **%s**:\n", what)
		for _, f := range sp.prefill {
			g.p("  - `%s`: %s\n", f.key, code(f.value))
		}
	}
	if svc != nil && len(svc.Editable) > 0 {
		var names []string
		for _, e := range svc.Editable {
			names = append(names, "`"+e.Name+"`")
		}
		g.p("- **The applicant may correct**: %s (see the [service](#service-%s))\n", strings.Join(names, ", "), svc.ID)
	}
	if sp.deadline != nil {
		g.p("- **Deadline**: %s\n", g.deadlineText(sp.deadline, false))
	}
	if r := remindersText(sp.reminders); r != "" {
		g.p("- **Reminders**: %s\n", r)
	}
	if sp.onExpiry != "" {
		title := ""
		if s, ok := g.cat.Service(sp.onExpiry); ok {
			title = ": " + s.Title.EN
		}
		g.p("- **When the deadline passes**: the draft expires and the applicant is notified with [`%s`](#service-%s)%s\n", sp.onExpiry, sp.onExpiry, title)
	}
	if len(sp.followUps) > 0 {
		var names []string
		for _, f := range sp.followUps {
			names = append(names, "`"+f.id+"`")
		}
		g.p("- **Follow-ups**, offered once this step is confirmed or granted: %s\n", strings.Join(names, ", "))
	}
	g.p("\n")
	for _, f := range sp.followUps {
		g.step(situation, path, f, "as the parent step ("+applicant+")", "as the parent step ("+beneficiary+")", seen)
	}
}

func outcomeOf(svc *catalogue.Service) string {
	if svc == nil {
		return "decided"
	}
	switch svc.Mode {
	case catalogue.ModeGrant, catalogue.ModeGrantOptOut:
		return "granted"
	case catalogue.ModeDraft:
		return "drafted"
	}
	return "notified"
}

// deadlineText describes a deadline; short leaves out the parameter's values.
func (g *docGen) deadlineText(n *yaml.Node, short bool) string {
	n = deref(n)
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value + " days from the life event"
	}
	from := "from the life event"
	if scalar(field(n, "from")) == "decision" {
		from = "from the day of the decision"
	}
	switch {
	case field(n, "days") != nil:
		return scalar(field(n, "days")) + " days " + from
	case field(n, "months") != nil:
		return scalar(field(n, "months")) + " months " + from
	}
	name, unit := scalar(field(n, "param")), scalar(field(n, "unit"))
	if unit == "" {
		unit = "days"
	}
	value := ""
	if p, ok := g.cat.Parameter(name); ok && len(p.Values) > 0 && !short {
		var vs []string
		for _, v := range p.Values {
			vs = append(vs, fmt.Sprintf("%s since %s", g.valueText(p.Name, v), v.ValidFrom))
		}
		value = " (" + strings.Join(vs, "; ") + ")"
	}
	return fmt.Sprintf("[`%s`](#parameter-%s) %s%s %s", name, anchorPart(name), unit, value, from)
}

func remindersText(n *yaml.Node) string {
	var parts []string
	for _, r := range itemsOf(n) {
		if v := field(r, "after"); v != nil {
			parts = append(parts, fmt.Sprintf("day %s of the deadline", v.Value))
		}
		if v := field(r, "before"); v != nil {
			parts = append(parts, fmt.Sprintf("%s days before the deadline", v.Value))
		}
	}
	return strings.Join(parts, ", ")
}

// valueText is a parameter's value as the catalogue writes it (528 000.90
// keeps its zero), else as loaded.
func (g *docGen) valueText(param string, v catalogue.ParamValue) string {
	if text, ok := g.raw.values[param+"|"+v.Region+"|"+v.ValidFrom]; ok {
		return text
	}
	switch x := v.Value.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v.Value)
}

func (g *docGen) events() {
	g.p("## Trigger events\n\nThe fields of each event's data that the catalogue's expressions may read, and the situations it may open.\n")
	g.p("`age.reached` is appended by the orchestrator's calendar at local midnight of a birthday.\n\n")
	g.p("| Event | Fields | Opens |\n|---|---|---|\n")
	for _, e := range g.raw.events {
		var opens []string
		for _, s := range g.cat.Situations(e.typ) {
			opens = append(opens, fmt.Sprintf("[`%s`](#situation-%s)", s.ID, s.ID))
		}
		fields := make([]string, len(e.fields))
		for i, f := range e.fields {
			fields[i] = "`" + f + "`"
		}
		g.p("| `%s` | %s | %s |\n", e.typ, strings.Join(fields, ", "), orDash(strings.Join(opens, ", ")))
	}
	g.p("\n")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (g *docGen) services() {
	g.p("## Services\n\nEvery service, by code: who provides it and how. A step's own settings are shown with the situation.\n\n")
	g.p("| Service | Title | Mode | Registry | Curator |\n|---|---|---|---|---|\n")
	for _, s := range g.cat.Services() {
		g.p("| [`%s`](#service-%s) | %s | %s | %s | %s |\n", s.ID, s.ID, cell(s.Title.EN), modeOf(s), orDash(s.Registry), cell(s.Curator.Name))
	}
	g.p("\n")
	for _, s := range g.cat.Services() {
		g.p("<a id=\"service-%s\"></a>\n\n### `%s`: %s\n\n*%s*\n\n", s.ID, s.ID, s.Title.EN, s.Title.RU)
		if s.Description.EN != "" {
			g.p("%s\n\n*%s*\n\n", s.Description.EN, s.Description.RU)
		}
		g.p("- **Agency**: %s\n", s.Agency)
		g.p("- **Curator**: %s (%s)\n", s.Curator.Name, s.Curator.Agency)
		g.p("- **Mode**: %s", modeOf(s))
		if s.Registry != "" {
			g.p(", registry `%s`", s.Registry)
		}
		g.p("\n- **Legal basis**: %s\n", s.LegalBasis)
		if uses := g.serviceUse[s.ID]; len(uses) > 0 {
			g.p("- **Used by**: %s\n", strings.Join(uses, "; "))
		}
		g.p("\n")
		if len(s.Editable) > 0 {
			g.p("| Field the applicant may correct | Type | Check | When refused |\n|---|---|---|---|\n")
			for _, e := range s.Editable {
				var checks []string
				if e.Pattern != "" {
					checks = append(checks, "matches "+code(e.Pattern))
				}
				if e.Rule != "" {
					checks = append(checks, code(e.Rule))
				}
				g.p("| `%s` | %s | %s | %s / *%s* |\n", e.Name, e.Type, cell(orDash(strings.Join(checks, "; "))), cell(e.Message.EN), cell(e.Message.RU))
			}
			g.p("\n")
		}
	}
}

func (g *docGen) curators() {
	type curated struct {
		c        catalogue.Curator
		services []string
	}
	byKey := map[catalogue.Curator]*curated{}
	var list []*curated
	for _, s := range g.cat.Services() {
		c := byKey[s.Curator]
		if c == nil {
			c = &curated{c: s.Curator}
			byKey[s.Curator] = c
			list = append(list, c)
		}
		c.services = append(c.services, fmt.Sprintf("[`%s`](#service-%s)", s.ID, s.ID))
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].c.Name != list[j].c.Name {
			return list[i].c.Name < list[j].c.Name
		}
		return list[i].c.Agency < list[j].c.Agency
	})
	g.p("## Curators\n\nThe official responsible for each service, shown to the citizen with every step.\n\n")
	g.p("| Curator | Agency | Services |\n|---|---|---|\n")
	for _, c := range list {
		g.p("| %s | %s | %s |\n", cell(c.c.Name), cell(c.c.Agency), strings.Join(c.services, ", "))
	}
	g.p("\n")
}

func (g *docGen) parameters() {
	g.p("## Parameters\n\nValues that change with time (and by region). A decision uses the value in force\n")
	g.p("on the day of the life event and records which one. Periods are inclusive; no end\n")
	g.p("date means in force until a new value is published. A regional parameter falls back to\n")
	g.p("the `default` value for a region without its own.\n\n")
	g.p("| Parameter | Unit | Type | By region | Used by |\n|---|---|---|---|---|\n")
	for _, name := range g.raw.params {
		p, ok := g.cat.Parameter(name)
		if !ok {
			continue
		}
		g.p("| [`%s`](#parameter-%s) | %s | %s | %s | %s |\n", p.Name, anchorPart(p.Name), orDash(p.Unit), p.Type, yesNo(p.KeyedBy != ""), cell(orDash(strings.Join(g.paramUse[p.Name], "; "))))
	}
	g.p("\n")
	for _, name := range g.raw.params {
		p, ok := g.cat.Parameter(name)
		if !ok {
			continue
		}
		g.p("<a id=\"parameter-%s\"></a>\n\n### `%s`\n\n", anchorPart(p.Name), p.Name)
		if p.Description.EN != "" {
			g.p("%s. *%s.*\n\n", strings.TrimSuffix(p.Description.EN, "."), strings.TrimSuffix(p.Description.RU, "."))
		}
		if p.LegalBasis != "" {
			g.p("- **Legal basis**: %s\n", p.LegalBasis)
		}
		g.p("- **Unit**: %s; **type**: %s\n", orDash(p.Unit), p.Type)
		if uses := g.paramUse[p.Name]; len(uses) > 0 {
			g.p("- **Used by**: %s\n", strings.Join(uses, "; "))
		}
		g.p("\n")
		if p.KeyedBy != "" {
			g.p("| Region | Valid from | Valid to | Value |\n|---|---|---|---|\n")
		} else {
			g.p("| Valid from | Valid to | Value |\n|---|---|---|\n")
		}
		for _, v := range p.Values {
			to := v.ValidTo
			if to == "" {
				to = "—"
			}
			if p.KeyedBy != "" {
				g.p("| %s | %s | %s | %s |\n", v.Region, v.ValidFrom, to, g.valueText(p.Name, v))
			} else {
				g.p("| %s | %s | %s |\n", v.ValidFrom, to, g.valueText(p.Name, v))
			}
		}
		g.p("\n")
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
