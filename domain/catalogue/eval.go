package catalogue

import (
	"fmt"
	"sort"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// evaluation is one decision in progress: the normalized input and the
// variables every expression of the situation sees.
type evaluation struct {
	sit       *Situation
	cat       *Catalogue
	in        Input
	data      map[string]any
	people    map[string]Person
	eventDate string
	today     string

	eventDateVal ref.Val
	// noParent is the empty parent of a step that is not a follow-up.
	noParent map[string]any
	// adapted holds people as CEL values, made on first use: a lookup is
	// then a map access rather than a reflected one plus a conversion.
	adapted map[string]any
}

func newEvaluation(sit *Situation, in Input) (*evaluation, error) {
	if sit == nil || sit.cat == nil {
		return nil, fmt.Errorf("situation is not part of a loaded catalogue")
	}
	data, _ := normalizeData(in.Data).(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	ev := &evaluation{
		sit:      sit,
		cat:      sit.cat,
		in:       in,
		data:     data,
		people:   normalizePeople(in.People),
		noParent: map[string]any{},
	}
	if !in.Today.IsZero() {
		ev.today = formatDate(dayOf(in.Today))
	}
	date := in.EventDate
	if date == "" {
		ev.setEventDate("")
		d, err := ev.evalString(sit.date, ev.newActivation(nil, ev.recorder(nil)))
		if err != nil {
			return nil, fmt.Errorf("event date: %w", err)
		}
		date = d
	}
	if _, err := parseDate(date); err != nil {
		return nil, fmt.Errorf("situation %q: event date: %w", sit.ID, err)
	}
	ev.setEventDate(date)
	return ev, nil
}

func (ev *evaluation) setEventDate(date string) {
	ev.eventDate, ev.eventDateVal = date, types.String(date)
}

func (ev *evaluation) recorder(seed []ParamUse) *recorder {
	return &recorder{cat: ev.cat, date: ev.eventDate, uses: append([]ParamUse(nil), seed...)}
}

// celPeople is people as the expressions see them.
func (ev *evaluation) celPeople() map[string]any {
	if ev.adapted == nil {
		ev.adapted = make(map[string]any, len(ev.people))
		for id, p := range ev.people {
			ev.adapted[id] = ev.cat.adapter.NativeToValue(p)
		}
	}
	return ev.adapted
}

func (ev *evaluation) eval(e *expr, act *activation) (ref.Val, error) {
	if e.prg == nil {
		return nil, fmt.Errorf("%s:%d: %s: not compiled", e.pos.file, e.lineOf(1), e.ctx)
	}
	if v, ok := e.short.eval(act); ok {
		return v, nil
	}
	out, _, err := e.prg.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %s: %w", e.pos.file, e.lineOf(1), e.ctx, err)
	}
	return out, nil
}

func (ev *evaluation) evalBool(e *expr, act *activation) (bool, error) {
	if e == nil {
		return true, nil
	}
	v, err := ev.eval(e, act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%s:%d: %s: want bool, got %s", e.pos.file, e.lineOf(1), e.ctx, v.Type().TypeName())
	}
	return bool(b), nil
}

func (ev *evaluation) evalString(e *expr, act *activation) (string, error) {
	v, err := ev.eval(e, act)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("%s:%d: %s: want a string, got %s", e.pos.file, e.lineOf(1), e.ctx, v.Type().TypeName())
	}
	return string(s), nil
}

func (ev *evaluation) evalList(e *expr, act *activation) ([]any, error) {
	v, err := ev.eval(e, act)
	if err != nil {
		return nil, err
	}
	l, ok := native(v).([]any)
	if !ok {
		return nil, fmt.Errorf("%s:%d: %s: want a list, got %s", e.pos.file, e.lineOf(1), e.ctx, v.Type().TypeName())
	}
	return l, nil
}

// evalIDs evaluates a list of person ids, dropping repeats and keeping order.
func (ev *evaluation) evalIDs(e *expr, act *activation) ([]string, error) {
	l, err := ev.evalList(e, act)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	seen := map[string]bool{}
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s: want person ids (strings), got %T", e.pos.file, e.lineOf(1), e.ctx, x)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// native converts a CEL value to plain Go: string, int64, uint64, float64,
// bool, nil, []any and map[string]any.
func native(v ref.Val) any {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Int:
		return int64(x)
	case types.Uint:
		return uint64(x)
	case types.Double:
		return float64(x)
	case types.Bool:
		return bool(x)
	case types.Null:
		return nil
	case *types.Optional:
		if x.HasValue() {
			return native(x.GetValue())
		}
		return nil
	case traits.Lister:
		var out []any
		for it := x.Iterator(); it.HasNext() == types.True; {
			out = append(out, native(it.Next()))
		}
		if out == nil {
			out = []any{}
		}
		return out
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			out[fmt.Sprint(native(k))] = native(x.Get(k))
		}
		return out
	default:
		return v.Value()
	}
}

// stepScope is what a step inherits: from the situation for a top-level
// step, from the confirmed step for a follow-up.
type stepScope struct {
	keyPrefix   string
	pathPrefix  string
	applicant   string
	beneficiary string
	parent      map[string]any
}

// step decides one step: nothing when it does not apply, one decision, or
// one per item of its for_each.
func (ev *evaluation) step(st *Step, sc stepScope) ([]StepDecision, error) {
	eff := &st.eff
	rec := ev.recorder(nil)
	base := ev.newActivation(sc.parent, rec)
	applies, err := ev.evalBool(eff.appliesWhen, base)
	if err != nil || !applies {
		return nil, err
	}
	if eff.forEach == nil {
		d, err := ev.instance(st, sc, sc.parent, rec.uses, nil, false, 0)
		if err != nil {
			return nil, err
		}
		return []StepDecision{d}, nil
	}
	items, err := ev.evalList(eff.forEach, base)
	if err != nil {
		return nil, err
	}
	out := make([]StepDecision, 0, len(items))
	for i, item := range items {
		d, err := ev.instance(st, sc, sc.parent, rec.uses, item, true, i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	// Items may come from a map's keys, whose order is not stable.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func itemKey(item any, index int) string {
	switch x := item.(type) {
	case string:
		return x
	case map[string]any:
		if id, ok := x["id"].(string); ok {
			return id
		}
	}
	return fmt.Sprint(index + 1)
}

func (ev *evaluation) instance(st *Step, sc stepScope, parent map[string]any, seed []ParamUse, item any, each bool, index int) (StepDecision, error) {
	eff := &st.eff
	svc := st.Service
	rec := ev.recorder(seed)
	act := ev.newActivation(parent, rec)
	d := StepDecision{
		Key:        sc.keyPrefix + st.ID,
		Step:       sc.pathPrefix + st.ID,
		Service:    svc.ID,
		Title:      svc.Title,
		Agency:     svc.Agency,
		Mode:       svc.Mode,
		OptOut:     svc.Mode == ModeGrantOptOut,
		Curator:    svc.Curator,
		Registry:   svc.Registry,
		LegalBasis: svc.LegalBasis,
		OnExpiry:   eff.onExpiry,
	}
	if each {
		act.item = item
		d.Item = item
		d.Key += "[" + itemKey(item, index) + "]"
	}
	d.Applicant = sc.applicant
	if eff.applicant != nil {
		a, err := ev.evalString(eff.applicant, act)
		if err != nil {
			return d, err
		}
		d.Applicant = a
	}
	act.applicant = types.String(d.Applicant)
	d.Beneficiary = sc.beneficiary
	if eff.beneficiary != nil {
		b, err := ev.evalString(eff.beneficiary, act)
		if err != nil {
			return d, err
		}
		d.Beneficiary = b
	}
	if d.Beneficiary == "" {
		d.Beneficiary = d.Applicant
	}
	act.beneficiary = types.String(d.Beneficiary)
	if len(eff.lets) > 0 {
		act.lets = make([]letValue, 0, len(eff.lets))
		d.Values = make(map[string]any, len(eff.lets))
	}
	for _, b := range eff.lets {
		v, err := ev.eval(b.e, act)
		if err != nil {
			return d, err
		}
		plain := native(v)
		act.lets = append(act.lets, letValue{name: b.name, val: v, plain: plain})
		d.Values[b.name] = plain
	}
	if err := ev.judge(&d, eff, act); err != nil {
		return d, err
	}
	if d.Outcome != OutcomeRejected {
		if err := ev.fill(&d, st, act, rec); err != nil {
			return d, err
		}
	}
	d.Parameters = rec.uses
	return d, nil
}

// judge evaluates every rule (a rejection lists every failed criterion, not
// just the first) and every note, and sets the outcome.
func (ev *evaluation) judge(d *StepDecision, eff *effective, act *activation) error {
	rejected := false
	for _, r := range eff.rules {
		ok, err := ev.evalBool(r.condition, act)
		if err != nil {
			return err
		}
		d.Rules = append(d.Rules, RuleCheck{Rule: r.id, Passed: ok, LegalBasis: r.legalBasis})
		if !ok {
			rejected = true
			d.Reasons = append(d.Reasons, Reason{Kind: ReasonRule, Rule: r.id, Text: fillText(r.reason, act.textValue), LegalBasis: r.legalBasis})
		}
	}
	for _, n := range eff.notes {
		ok, err := ev.evalBool(n.condition, act)
		if err != nil {
			return err
		}
		if ok {
			d.Reasons = append(d.Reasons, Reason{Kind: ReasonNote, Text: fillText(n.text, act.textValue), LegalBasis: n.legalBasis})
		}
	}
	switch {
	case rejected:
		d.Outcome = OutcomeRejected
	case d.Mode.Grants():
		d.Outcome = OutcomeGranted
	case d.Mode == ModeDraft:
		d.Outcome = OutcomeDrafted
	default:
		d.Outcome = OutcomeNotified
	}
	return nil
}

// fill computes what a step that goes ahead carries: pre-filled fields,
// editable fields, deadline, reminders and follow-ups.
func (ev *evaluation) fill(d *StepDecision, st *Step, act *activation, rec *recorder) error {
	eff := &st.eff
	d.Prefill = make(map[string]any, len(eff.prefill))
	for _, b := range eff.prefill {
		v, err := ev.evalPlain(b.e, act)
		if err != nil {
			return err
		}
		d.Prefill[b.name] = v
	}
	for _, f := range st.Service.Editable {
		d.Editable = append(d.Editable, f.Name)
	}
	for _, f := range st.FollowUps {
		d.FollowUps = append(d.FollowUps, f.Service.ID)
	}
	if eff.deadline == nil {
		return nil
	}
	start, deadline, err := ev.deadline(eff.deadline, rec)
	if err != nil {
		return fmt.Errorf("%s: %w", st.ctx, err)
	}
	d.Deadline = formatDate(deadline)
	d.Reminders = ev.reminders(eff.reminders, start, deadline)
	return nil
}
