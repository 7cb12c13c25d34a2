package catalogue

import (
	"cel.dev/cel-go/common/functions"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// activation supplies the variables and the param function of one scope of
// a decision (the situation's, a step's, one instance of a step) to every
// expression evaluated in it. It replaces a map copied per scope and an
// activation built per expression: a decision evaluates some seventy
// expressions, each of which would otherwise pay for both.
type activation struct {
	ev     *evaluation
	rec    *recorder
	parent map[string]any
	item   any
	// applicant and beneficiary are nil until the instance has computed them.
	applicant, beneficiary ref.Val
	lets                   []letValue
}

// letValue is a let binding computed, in declaration order, with its value
// in plain Go (see native).
type letValue struct {
	name  string
	val   ref.Val
	plain any
}

var _ interpreter.FunctionActivation = (*activation)(nil)

// newActivation is the base scope: event, event_date, people, parent and a
// null item.
func (ev *evaluation) newActivation(parent map[string]any, rec *recorder) *activation {
	if parent == nil {
		parent = ev.noParent
	}
	return &activation{ev: ev, rec: rec, parent: parent, item: types.NullValue}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varEvent:
		return a.ev.data, true
	case varEventDate:
		return a.ev.eventDateVal, true
	case varPeople:
		return a.ev.celPeople(), true
	case varParent:
		return a.parent, true
	case varItem:
		return a.item, true
	case varApplicant:
		return a.applicant, a.applicant != nil
	case varBeneficiary:
		return a.beneficiary, a.beneficiary != nil
	}
	for i := range a.lets {
		if a.lets[i].name == name {
			return a.lets[i].val, true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation: a scope holds all its variables.
func (a *activation) Parent() interpreter.Activation { return nil }

// ResolveFunction implements interpreter.FunctionActivation.
func (a *activation) ResolveFunction(name string) (functions.LateBoundOp, bool) {
	if name == "param" {
		return a.rec.celParam, true
	}
	return nil, false
}

// textValue is what a {{name}} placeholder shows: the variable's value,
// with the register facts as the input gave them.
func (a *activation) textValue(name string) (any, bool) {
	if name == varPeople {
		return a.ev.people, true
	}
	return a.ResolveName(name)
}

// plainLet is the plain Go value of a let binding when it is a scalar,
// which a pre-filled field naming the binding may share.
func (a *activation) plainLet(name string) (any, bool) {
	for i := range a.lets {
		if a.lets[i].name == name {
			return a.lets[i].plain, isScalar(a.lets[i].plain)
		}
	}
	return nil, false
}
