package catalogue

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// TestsDir is the name of the directories Load skips: they hold the
// curators' test cases of the catalogue (lifesituations catalogue test), which
// are YAML too but not regulations.
const TestsDir = "tests"

// Load reads every *.yaml and *.yml file under fsys, in lexical path order,
// as one catalogue, links and compiles it; directories named TestsDir
// ("tests"), at any depth, are skipped. A bad catalogue is refused with a
// *LoadError listing every problem with its file and line.
func Load(fsys fs.FS) (*Catalogue, error) {
	probs := &problems{}
	pr := &parsed{events: map[string]*EventType{}, eventPos: map[string]pos{}}
	files := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && d.Name() == TestsDir {
			return fs.SkipDir // curators' test cases, not regulations
		}
		if d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		files++
		pr.parseFile(p, data, probs)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the catalogue: %w", err)
	}
	if files == 0 {
		probs.add(pos{}, "", "no catalogue files (*.yaml) found")
	} else if pr.versionPos == nil {
		probs.add(pos{}, "", "no file declares the catalogue version (a top-level `version:`)")
	}
	cat, err := link(pr, probs)
	if err != nil {
		return nil, err
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return cat, nil
}

// link resolves references, compiles every expression and checks what only
// the whole catalogue can tell. Problems go to probs; the error is for a
// failure of the loader itself.
func link(pr *parsed, probs *problems) (*Catalogue, error) {
	cat := &Catalogue{
		version:   pr.version,
		events:    pr.events,
		byTrigger: map[string][]*Situation{},
		services:  map[string]*Service{},
		params:    map[string]*Parameter{},
	}
	for _, p := range pr.params {
		if first, dup := cat.params[p.Name]; dup {
			probs.add(p.pos, fmt.Sprintf("parameter %q", p.Name), "duplicate name (first defined at %s:%d)", first.pos.file, first.pos.line)
			continue
		}
		checkOverlaps(p, probs)
		cat.params[p.Name] = p
	}
	for _, s := range pr.services {
		if first, dup := cat.services[s.ID]; dup {
			probs.add(s.pos, fmt.Sprintf("service %q", s.ID), "duplicate id (first defined at %s:%d)", first.pos.file, first.pos.line)
			continue
		}
		cat.services[s.ID] = s
	}

	e, err := newDecisionEnvs()
	if err != nil {
		return nil, err
	}
	venv, err := newValidationEnv()
	if err != nil {
		return nil, err
	}
	cat.validateEnv = venv
	cat.adapter = e.base.CELTypeAdapter()
	c := &compiler{probs: probs, params: cat.params}
	l := &linker{cat: cat, c: c, e: e, probs: probs}

	for _, s := range cat.Services() {
		s.env = c.compileSpec(e, e.subject, &s.spec, map[string]pos{})
		for _, ef := range s.Editable {
			c.compile(venv, ef.rule, wantBool)
		}
		l.checkOnExpiry(s.spec.onExpiry, s.spec.onExpiryPos, fmt.Sprintf("service %q", s.ID))
	}
	for _, s := range cat.Services() {
		l.steps(s.spec.followUps)
	}

	seen := map[string]*Situation{}
	for _, s := range pr.situations {
		ctx := fmt.Sprintf("situation %q", s.ID)
		if first, dup := seen[s.ID]; dup {
			probs.add(s.pos, ctx, "duplicate id (first defined at %s:%d)", first.pos.file, first.pos.line)
			continue
		}
		seen[s.ID] = s
		s.cat = cat
		l.situation(s)
		cat.situations = append(cat.situations, s)
		cat.byTrigger[s.Trigger.Event] = append(cat.byTrigger[s.Trigger.Event], s)
	}

	h, err := pr.canon.hash()
	if err != nil {
		return nil, err
	}
	cat.hash = h
	return cat, nil
}

type linker struct {
	cat   *Catalogue
	c     *compiler
	e     envs
	probs *problems
}

func (l *linker) situation(s *Situation) {
	ctx := fmt.Sprintf("situation %q", s.ID)
	et, ok := l.cat.events[s.Trigger.Event]
	if !ok && s.Trigger.Event != "" {
		l.probs.add(s.pos, ctx+": trigger", "unknown event type %q (declare it under events)", s.Trigger.Event)
	}
	c, e := l.c, l.e
	c.compile(e.base, s.condition, wantBool)
	c.compile(e.base, s.date, wantString)
	c.compile(e.base, s.applicant, wantString)
	c.compile(e.base, s.beneficiary, wantString)
	c.compile(e.base, s.participants, wantList)
	c.compile(e.base, s.withdraws, wantList)
	l.steps(s.Steps)
	if et == nil {
		return
	}
	for _, x := range []*expr{s.condition, s.date, s.applicant, s.beneficiary, s.participants, s.withdraws} {
		l.checkEventRefs(x, et, s.ID)
	}
	// A service may name itself among its follow-ups; visit each step once.
	visited := map[*Step]bool{}
	var walk func([]*Step)
	walk = func(steps []*Step) {
		for _, st := range steps {
			if visited[st] {
				continue
			}
			visited[st] = true
			for _, x := range st.eff.exprs() {
				l.checkEventRefs(x, et, s.ID)
			}
			walk(st.FollowUps)
		}
	}
	walk(s.Steps)
}

// steps links each step to its service, compiles its overrides on top of
// the service's environment and merges the effective settings.
func (l *linker) steps(steps []*Step) {
	for _, st := range steps {
		code := st.Service.ID
		svc, ok := l.cat.services[code]
		if !ok {
			l.probs.add(st.Service.pos, st.ctx, "unknown service %q", code)
			l.c.compileSpec(l.e, l.e.subject, &st.spec, map[string]pos{})
			l.steps(st.spec.followUps)
			continue
		}
		st.Service = svc
		taken := map[string]pos{}
		for _, b := range svc.spec.lets {
			taken[b.name] = b.e.pos
		}
		l.c.compileSpec(l.e, svc.env, &st.spec, taken)
		l.steps(st.spec.followUps)
		l.checkOnExpiry(st.spec.onExpiry, st.spec.onExpiryPos, st.ctx)
		st.eff, st.FollowUps = merge(&svc.spec, &st.spec)
		if len(st.eff.reminders) > 0 && st.eff.deadline == nil {
			l.probs.add(st.pos, st.ctx, "reminders need a deadline")
		}
	}
}

func (l *linker) checkOnExpiry(code string, p pos, ctx string) {
	if code == "" {
		return
	}
	svc, ok := l.cat.services[code]
	switch {
	case !ok:
		l.probs.add(p, ctx+": on_expiry", "unknown service %q", code)
	case svc.Mode != ModeInform:
		l.probs.add(p, ctx+": on_expiry", "service %q must have mode inform to be a notice, not %s", code, svc.Mode)
	}
}

func (l *linker) checkEventRefs(x *expr, et *EventType, situation string) {
	if x == nil {
		return
	}
	for _, ref := range x.eventRefs {
		if !et.fields[ref.name] {
			l.probs.add(x.at(ref.line), x.ctx, "event %q (trigger of situation %q) has no field %q; it has %s",
				et.Type, situation, ref.name, strings.Join(sortedCopy(et.Fields), ", "))
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func merge(svc, st *stepSpec) (effective, []*Step) {
	pick := func(a, b *expr) *expr {
		if a != nil {
			return a
		}
		return b
	}
	eff := effective{
		appliesWhen: pick(st.appliesWhen, svc.appliesWhen),
		forEach:     pick(st.forEach, svc.forEach),
		applicant:   pick(st.applicant, svc.applicant),
		beneficiary: pick(st.beneficiary, svc.beneficiary),
		lets:        append(append([]binding(nil), svc.lets...), st.lets...),
		rules:       append(append([]*rule(nil), svc.rules...), st.rules...),
		notes:       append(append([]*note(nil), svc.notes...), st.notes...),
		deadline:    svc.deadline,
		reminders:   svc.reminders,
		onExpiry:    svc.onExpiry,
	}
	// A step's prefill field replaces the service's field of the same name.
	eff.prefill = append([]binding(nil), svc.prefill...)
	for _, b := range st.prefill {
		replaced := false
		for i := range eff.prefill {
			if eff.prefill[i].name == b.name {
				eff.prefill[i], replaced = b, true
			}
		}
		if !replaced {
			eff.prefill = append(eff.prefill, b)
		}
	}
	if st.deadline != nil {
		eff.deadline = st.deadline
	}
	if st.hasRemind {
		eff.reminders = st.reminders
	}
	if st.onExpiry != "" {
		eff.onExpiry = st.onExpiry
	}
	followUps := svc.followUps
	if st.hasFollow {
		followUps = st.followUps
	}
	return eff, followUps
}

func (e *effective) exprs() []*expr {
	out := []*expr{e.appliesWhen, e.forEach, e.applicant, e.beneficiary}
	for _, b := range e.lets {
		out = append(out, b.e)
	}
	for _, r := range e.rules {
		out = append(out, r.condition)
	}
	for _, n := range e.notes {
		out = append(out, n.condition)
	}
	for _, b := range e.prefill {
		out = append(out, b.e)
	}
	return out
}
