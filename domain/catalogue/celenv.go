package catalogue

import (
	"fmt"
	"reflect"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/ext"
)

// Limits keep every expression cheap and bounded: a catalogue is data a
// curator can change without a release, so it must not be able to stall a
// saga with a runaway comprehension.
const (
	costLimit           = 200_000
	parserRecursion     = 64
	parserExprSizeLimit = 4_000
	listsMaxRange       = 1_000
	// untrackedCost is the estimated maximum cost below which an
	// expression's cost is not tracked while it runs (see programOptions).
	untrackedCost = costLimit / 100
)

// Names of the variables an expression may read. They cannot be used as
// names of `let` bindings.
const (
	varEvent       = "event"
	varEventDate   = "event_date"
	varPeople      = "people"
	varParent      = "parent"
	varItem        = "item"
	varApplicant   = "applicant"
	varBeneficiary = "beneficiary"
	varValue       = "value"
	varFields      = "fields"
)

var reservedNames = map[string]bool{
	varEvent: true, varEventDate: true, varPeople: true, varParent: true, varItem: true,
	varApplicant: true, varBeneficiary: true, varValue: true, varFields: true,
}

// personType is the CEL type of a person's facts: field names are checked
// when an expression is compiled, so `people[id].citizenshp` is a load error.
var personType = cel.ObjectType("catalogue.Person")

// envs are the nested scopes of a step's expressions: situation-level
// expressions (trigger, applies_when, for_each) see base; a step's applicant
// also sees item; its beneficiary also sees applicant; the rest also see
// beneficiary and the step's let bindings.
type envs struct {
	base, item, applicant, subject *cel.Env
}

func commonOptions() []cel.EnvOption {
	return []cel.EnvOption{
		ext.NativeTypes(reflect.TypeOf(Person{}), ext.ParseStructTags(true)),
		ext.Lists(ext.ListsMaxRangeSize(listsMaxRange)),
		ext.Math(),
		ext.Strings(),
		ext.Sets(),
		ext.Bindings(),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(parserRecursion),
		cel.ParserExpressionSizeLimit(parserExprSizeLimit),
		dateFunctions(),
		sumFunction(),
	}
}

// newDecisionEnvs declares the variables and functions of decision
// expressions (see doc.go for the list).
func newDecisionEnvs() (envs, error) {
	opts := append(commonOptions(),
		cel.Variable(varEvent, cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable(varEventDate, cel.StringType),
		cel.Variable(varPeople, cel.MapType(cel.StringType, personType)),
		cel.Variable(varParent, cel.MapType(cel.StringType, cel.DynType)),
		paramFunction(),
	)
	base, err := cel.NewEnv(opts...)
	if err != nil {
		return envs{}, fmt.Errorf("declaring the decision environment: %w", err)
	}
	item, err := base.Extend(cel.Variable(varItem, cel.DynType))
	if err != nil {
		return envs{}, fmt.Errorf("declaring item: %w", err)
	}
	applicant, err := item.Extend(cel.Variable(varApplicant, cel.StringType))
	if err != nil {
		return envs{}, fmt.Errorf("declaring applicant: %w", err)
	}
	subject, err := applicant.Extend(cel.Variable(varBeneficiary, cel.StringType))
	if err != nil {
		return envs{}, fmt.Errorf("declaring beneficiary: %w", err)
	}
	return envs{base: base, item: item, applicant: applicant, subject: subject}, nil
}

// newValidationEnv declares what an editable field's rule sees: the corrected
// value and all corrected fields. No event, no parameters: the citizen API
// validates a correction without the situation at hand.
func newValidationEnv() (*cel.Env, error) {
	opts := append(commonOptions(),
		cel.Variable(varValue, cel.DynType),
		cel.Variable(varFields, cel.MapType(cel.StringType, cel.DynType)),
	)
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("declaring the validation environment: %w", err)
	}
	return env, nil
}

// programOptions track an expression's cost against costLimit while it
// runs, unless its estimated maximum cost is far below the limit (no
// comprehension nor value of unknown size): most expressions, for which the
// tracking cost a fifth of their evaluation. The estimate and the tracking
// share the environment's cost model, so the untracked ones could not have
// reached the limit.
func programOptions(env *cel.Env, checked *cel.Ast) []cel.ProgramOption {
	if est, err := env.EstimateCost(checked, noSizeHints{}); err == nil && est.Max <= untrackedCost {
		return nil
	}
	return []cel.ProgramOption{
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(100),
	}
}

// noSizeHints leaves every size and call cost to the cost model: a list or
// string read from the input has no known bound.
type noSizeHints struct{}

func (noSizeHints) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

func (noSizeHints) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }
