package catalogue

import (
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// Custom functions. All are pure: the same arguments give the same result,
// so an auditor's replay recomputes the same decision. Dates are strings
// YYYY-MM-DD; a malformed date is an evaluation error, never a silent false.
//
//	age(birth_date, on_date) int          full years on on_date (29 Feb -> 28 Feb in common years)
//	add_days(date, n) string              date plus n days (n may be negative)
//	add_months(date, n) string            date plus n months, clamped to the month's last day
//	days_between(from, to) int            to - from in days
//	date_before(a, b) bool                a is strictly before b
//	date_after(a, b) bool                 a is strictly after b
//	is_date(s) bool                       s is a valid date YYYY-MM-DD
//	sum(list(int)) int, sum(list(double)) double
//	param(name) dyn                       parameter in force on event_date
//	param(name, region) dyn               regional parameter in force on event_date, falling back to region "default"
func dateFunctions() cel.EnvOption {
	return cel.Lib(dateLib{})
}

type dateLib struct{}

func (dateLib) ProgramOptions() []cel.ProgramOption { return nil }

func (dateLib) CompileOptions() []cel.EnvOption {
	str, i, boolT := cel.StringType, cel.IntType, cel.BoolType
	return []cel.EnvOption{
		cel.Function("age", cel.Overload("age_string_string", []*cel.Type{str, str}, i,
			cel.BinaryBinding(func(birth, on ref.Val) ref.Val {
				bt, ot, err := twoDates(birth, on)
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Int(ageOn(bt, ot))
			}))),
		cel.Function("add_days", cel.Overload("add_days_string_int", []*cel.Type{str, i}, str,
			cel.BinaryBinding(func(d, n ref.Val) ref.Val {
				t, err := parseDate(string(d.(types.String)))
				if err != nil {
					return types.WrapErr(err)
				}
				return types.String(formatDate(t.AddDate(0, 0, int(n.(types.Int)))))
			}))),
		cel.Function("add_months", cel.Overload("add_months_string_int", []*cel.Type{str, i}, str,
			cel.BinaryBinding(func(d, n ref.Val) ref.Val {
				t, err := parseDate(string(d.(types.String)))
				if err != nil {
					return types.WrapErr(err)
				}
				return types.String(formatDate(addMonths(t, int(n.(types.Int)))))
			}))),
		cel.Function("days_between", cel.Overload("days_between_string_string", []*cel.Type{str, str}, i,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val {
				at, bt, err := twoDates(a, b)
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Int(daysBetween(at, bt))
			}))),
		cel.Function("date_before", cel.Overload("date_before_string_string", []*cel.Type{str, str}, boolT,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val {
				at, bt, err := twoDates(a, b)
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Bool(at.Before(bt))
			}))),
		cel.Function("date_after", cel.Overload("date_after_string_string", []*cel.Type{str, str}, boolT,
			cel.BinaryBinding(func(a, b ref.Val) ref.Val {
				at, bt, err := twoDates(a, b)
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Bool(at.After(bt))
			}))),
		cel.Function("is_date", cel.Overload("is_date_string", []*cel.Type{str}, boolT,
			cel.UnaryBinding(func(s ref.Val) ref.Val {
				_, err := parseDate(string(s.(types.String)))
				return types.Bool(err == nil)
			}))),
	}
}

func twoDates(a, b ref.Val) (at, bt time.Time, err error) {
	if at, err = parseDate(string(a.(types.String))); err != nil {
		return at, bt, err
	}
	bt, err = parseDate(string(b.(types.String)))
	return at, bt, err
}

func sumFunction() cel.EnvOption {
	return cel.Function("sum",
		cel.Overload("sum_list_int", []*cel.Type{cel.ListType(cel.IntType)}, cel.IntType,
			cel.UnaryBinding(func(l ref.Val) ref.Val { return sumList(l, types.Int(0)) })),
		cel.Overload("sum_list_double", []*cel.Type{cel.ListType(cel.DoubleType)}, cel.DoubleType,
			cel.UnaryBinding(func(l ref.Val) ref.Val { return sumList(l, types.Double(0)) })),
	)
}

func sumList(l ref.Val, zero ref.Val) ref.Val {
	acc := zero
	it := l.(traits.Lister).Iterator()
	for it.HasNext() == types.True {
		next := it.Next()
		acc = acc.(traits.Adder).Add(next)
		if types.IsError(acc) {
			return acc
		}
	}
	return acc
}

// paramFunction declares param; its implementation is bound per evaluation
// (see recorder) because it depends on the event date and records each read.
func paramFunction() cel.EnvOption {
	return cel.Function("param",
		cel.Overload("param_string", []*cel.Type{cel.StringType}, cel.DynType, cel.LateFunctionBinding()),
		cel.Overload("param_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.DynType, cel.LateFunctionBinding()),
	)
}
