package catalogue

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types/ref"
)

// shortcut evaluates an expression that only names a variable, reads a
// field of `event` or is a literal (most pre-filled fields: `applicant`,
// `event.child_id`, `"RUB"`) without the interpreter, whose set-up costs
// more than such an expression itself. It gives the value the interpreter
// would; whenever it cannot (a missing variable or field), the interpreter
// runs and reports the error as before.
type shortcut struct {
	kind  shortKind
	name  string  // the variable or the field of event
	value ref.Val // the literal
	plain any     // the literal in plain Go
}

type shortKind uint8

const (
	shortNone shortKind = iota
	shortVariable
	shortEventField
	shortLiteral
)

// shortcutOf recognizes the expressions a shortcut evaluates.
func shortcutOf(checked *cel.Ast) shortcut {
	rep := checked.NativeRep()
	x := rep.Expr()
	refs := rep.ReferenceMap()
	switch x.Kind() {
	case ast.LiteralKind:
		return shortcut{kind: shortLiteral, value: x.AsLiteral(), plain: native(x.AsLiteral())}
	case ast.IdentKind:
		// A variable, not a constant such as an enum value or a type.
		if r, ok := refs[x.ID()]; ok && r.Value == nil && r.Name == x.AsIdent() {
			return shortcut{kind: shortVariable, name: x.AsIdent()}
		}
	case ast.SelectKind:
		sel := x.AsSelect()
		// A field selection (no reference: not a qualified name) on the
		// variable event, not a presence test.
		if _, qualified := refs[x.ID()]; !qualified && !sel.IsTestOnly() && isIdent(sel.Operand(), varEvent) {
			if r, ok := refs[sel.Operand().ID()]; ok && r.Value == nil && r.Name == varEvent {
				return shortcut{kind: shortEventField, name: sel.FieldName()}
			}
		}
	}
	return shortcut{}
}

// eval returns the expression's value, or false when the interpreter must
// evaluate it.
func (s *shortcut) eval(act *activation) (ref.Val, bool) {
	switch s.kind {
	case shortLiteral:
		return s.value, true
	case shortVariable:
		v, ok := act.ResolveName(s.name)
		if !ok {
			return nil, false
		}
		return act.ev.cat.adapter.NativeToValue(v), true
	case shortEventField:
		v, ok := act.ev.data[s.name]
		if !ok {
			return nil, false
		}
		return act.ev.cat.adapter.NativeToValue(v), true
	}
	return nil, false
}

// evalPlain is eval followed by native, without the conversions when the
// value is a scalar already in plain Go: an event field as decoded, a let
// binding as the decision records it, or a literal.
func (ev *evaluation) evalPlain(e *expr, act *activation) (any, error) {
	switch e.short.kind {
	case shortLiteral:
		return e.short.plain, nil
	case shortEventField:
		if v, ok := ev.data[e.short.name]; ok && isScalar(v) {
			return v, nil
		}
	case shortVariable:
		if v, ok := act.plainLet(e.short.name); ok {
			return v, nil
		}
	}
	v, err := ev.eval(e, act)
	if err != nil {
		return nil, err
	}
	return native(v), nil
}

// isScalar tells the plain values native gives back unchanged from their
// CEL conversion.
func isScalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool:
		return true
	}
	return false
}
