package catalogue

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// expr is one CEL expression of the catalogue, with where it is written so
// that both load and evaluation errors point at it.
type expr struct {
	src string
	pos pos
	ctx string

	prg       cel.Program
	eventRefs []fieldRef
	short     shortcut
}

// fieldRef is a constant field of `event` an expression reads.
type fieldRef struct {
	name string
	line int
}

func (e *expr) source() string {
	if e == nil {
		return ""
	}
	return e.src
}

// lineOf maps a line inside the expression to a line of the file.
func (e *expr) lineOf(exprLine int) int {
	if exprLine < 1 {
		exprLine = 1
	}
	return e.pos.line + e.pos.offset + exprLine - 1
}

func (e *expr) at(exprLine int) pos {
	return pos{file: e.pos.file, line: e.lineOf(exprLine)}
}

// compiler compiles expressions, reporting problems instead of stopping.
type compiler struct {
	probs  *problems
	params map[string]*Parameter
}

var (
	wantBool   = []types.Kind{types.BoolKind}
	wantString = []types.Kind{types.StringKind}
	wantList   = []types.Kind{types.ListKind}
	wantAny    []types.Kind
)

// compile type-checks e in env, wanting one of the given result kinds (dyn
// is accepted: it is checked when evaluated). It returns the result type.
func (c *compiler) compile(env *cel.Env, e *expr, want []types.Kind) *cel.Type {
	if e == nil {
		return cel.DynType
	}
	checked, iss := env.Compile(e.src)
	if iss.Err() != nil {
		for _, ce := range iss.Errors() {
			msg := strings.TrimSuffix(ce.Message, " (in container '')")
			c.probs.add(e.at(ce.Location.Line()), e.ctx, "%s", msg)
		}
		return cel.DynType
	}
	out := checked.OutputType()
	if len(want) > 0 && out.Kind() != types.DynKind && !kindIn(out.Kind(), want) {
		c.probs.add(e.at(1), e.ctx, "must be %s, got %s", kindNames(want), out)
		return cel.DynType
	}
	c.inspect(checked, e)
	e.short = shortcutOf(checked)
	prg, err := env.Program(checked, programOptions(env, checked)...)
	if err != nil {
		c.probs.add(e.at(1), e.ctx, "%v", err)
		return cel.DynType
	}
	e.prg = prg
	return out
}

func kindIn(k types.Kind, ks []types.Kind) bool {
	for _, x := range ks {
		if k == x {
			return true
		}
	}
	return false
}

func kindNames(ks []types.Kind) string {
	names := map[types.Kind]string{types.BoolKind: "bool", types.StringKind: "a string", types.ListKind: "a list"}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = names[k]
	}
	return strings.Join(out, " or ")
}

// inspect walks the checked expression for what the type checker cannot
// know: which fields of `event` it reads (checked against the trigger's
// declared fields) and which parameters it names (checked here).
func (c *compiler) inspect(checked *cel.Ast, e *expr) {
	native := checked.NativeRep()
	info := native.SourceInfo()
	line := func(id int64) int { return info.GetStartLocation(id).Line() }
	ast.PreOrderVisit(native.Expr(), ast.NewExprVisitor(func(x ast.Expr) {
		switch x.Kind() {
		case ast.SelectKind:
			sel := x.AsSelect()
			if isIdent(sel.Operand(), varEvent) {
				e.eventRefs = append(e.eventRefs, fieldRef{name: sel.FieldName(), line: line(x.ID())})
			}
		case ast.CallKind:
			call := x.AsCall()
			args := call.Args()
			switch call.FunctionName() {
			case "_[_]", "_[?_]", "_?._":
				if len(args) == 2 && isIdent(args[0], varEvent) {
					if name, ok := stringLiteral(args[1]); ok {
						e.eventRefs = append(e.eventRefs, fieldRef{name: name, line: line(x.ID())})
					}
				}
			case "param":
				if call.IsMemberFunction() || len(args) == 0 {
					return
				}
				if name, ok := stringLiteral(args[0]); ok {
					c.checkParamCall(e, name, len(args), line(x.ID()))
				}
			}
		}
	}))
}

func (c *compiler) checkParamCall(e *expr, name string, arity, line int) {
	p, ok := c.params[name]
	switch {
	case !ok:
		c.probs.add(e.at(line), e.ctx, "unknown parameter %q", name)
	case p.KeyedBy == "region" && arity == 1:
		c.probs.add(e.at(line), e.ctx, "parameter %q is keyed by region: call param(%q, region)", name, name)
	case p.KeyedBy == "" && arity == 2:
		c.probs.add(e.at(line), e.ctx, "parameter %q is not keyed by region: call param(%q)", name, name)
	}
}

func isIdent(x ast.Expr, name string) bool {
	return x.Kind() == ast.IdentKind && x.AsIdent() == name
}

func stringLiteral(x ast.Expr) (string, bool) {
	if x.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := x.AsLiteral().(types.String)
	return string(s), ok
}

// compileBindings compiles let bindings in order, each seeing the ones before
// it, and returns env extended with all of them.
func (c *compiler) compileBindings(env *cel.Env, bs []binding, taken map[string]pos) *cel.Env {
	for _, b := range bs {
		if reservedNames[b.name] {
			c.probs.add(b.e.pos, b.e.ctx, "%q is a reserved variable name", b.name)
			continue
		}
		if first, dup := taken[b.name]; dup {
			c.probs.add(b.e.pos, b.e.ctx, "%q is already bound (at %s:%d)", b.name, first.file, first.line)
			continue
		}
		taken[b.name] = b.e.pos
		typ := c.compile(env, b.e, wantAny)
		next, err := env.Extend(cel.Variable(b.name, typ))
		if err != nil {
			c.probs.add(b.e.pos, b.e.ctx, "declaring %q: %v", b.name, err)
			continue
		}
		env = next
	}
	return env
}

// compileSpec compiles a service's or a step's own settings. subject is the
// environment for lets, rules, notes and prefill (a step's builds on its
// service's); it returns subject extended with the spec's lets.
func (c *compiler) compileSpec(e envs, subject *cel.Env, sp *stepSpec, taken map[string]pos) *cel.Env {
	c.compile(e.base, sp.appliesWhen, wantBool)
	c.compile(e.base, sp.forEach, wantList)
	c.compile(e.item, sp.applicant, wantString)
	c.compile(e.applicant, sp.beneficiary, wantString)
	env := c.compileBindings(subject, sp.lets, taken)
	for _, r := range sp.rules {
		c.compile(env, r.condition, wantBool)
		c.checkPlaceholders(env, r.reason, r.condition, "reason")
	}
	for _, n := range sp.notes {
		c.compile(env, n.condition, wantBool)
		c.checkPlaceholders(env, n.text, n.condition, "text")
	}
	for _, b := range sp.prefill {
		c.compile(env, b.e, wantAny)
	}
	c.checkDeadline(sp.deadline)
	return env
}

func (c *compiler) checkDeadline(d *Deadline) {
	if d == nil || d.Param == "" {
		return
	}
	ctx := d.ctx
	p, ok := c.params[d.Param]
	switch {
	case !ok:
		c.probs.add(d.pos, ctx, "unknown parameter %q", d.Param)
	case p.Type != "int":
		c.probs.add(d.pos, ctx, "parameter %q must be of type int to be a deadline", d.Param)
	case p.KeyedBy != "":
		c.probs.add(d.pos, ctx, "parameter %q is keyed by region and cannot be a deadline", d.Param)
	default:
		for i, v := range p.Values {
			if n, _ := v.Value.(int64); n < 0 {
				c.probs.add(v.pos, fmt.Sprintf("parameter %q: value %d", p.Name, i+1),
					"negative deadline %d (used as the deadline at %s:%d)", n, d.pos.file, d.pos.line)
			}
		}
	}
}
