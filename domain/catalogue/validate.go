package catalogue

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// FieldError is a correction refused, with a JSON pointer into the confirm
// request body ({"fields": {...}}).
type FieldError struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
	Text    Text   `json:"text"`
}

// ValidateCorrections checks a citizen's corrections to a draft of svc with
// the catalogue's own rules: only editable fields, of the declared type,
// matching the pattern and the rule. It returns every error, ordered by
// field; none means the corrections are acceptable.
func ValidateCorrections(svc *Service, fields map[string]any) []FieldError {
	var errs []FieldError
	editable := map[string]*EditableField{}
	for _, f := range svc.Editable {
		editable[f.Name] = f
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	all, _ := normalizeData(fields).(map[string]any)
	for _, name := range names {
		f, ok := editable[name]
		if !ok {
			errs = append(errs, fieldError(name, Text{
				RU: fmt.Sprintf("поле %q нельзя изменить", name),
				EN: fmt.Sprintf("field %q is not editable", name),
			}))
			continue
		}
		if t, bad := f.check(all[name], all); bad {
			errs = append(errs, fieldError(name, t))
		}
	}
	return errs
}

// ValidateCorrections is ValidateCorrections for a service code; an unknown
// code refuses every field.
func (c *Catalogue) ValidateCorrections(service string, fields map[string]any) []FieldError {
	svc, ok := c.services[service]
	if !ok {
		svc = &Service{ID: service}
	}
	return ValidateCorrections(svc, fields)
}

func fieldError(name string, t Text) FieldError {
	return FieldError{Field: name, Pointer: "/fields/" + name, Detail: t.EN, Text: t}
}

// check returns the message to show when value is not acceptable.
func (f *EditableField) check(value any, all map[string]any) (Text, bool) {
	if t, bad := f.checkType(value); bad {
		return t, true
	}
	if s, ok := value.(string); ok && f.pattern != nil && !f.pattern.MatchString(s) {
		return f.Message, true
	}
	if f.rule == nil || f.rule.prg == nil {
		return Text{}, false
	}
	act, err := cel.NewActivation(map[string]any{varValue: value, varFields: all})
	if err != nil {
		return f.Message, true
	}
	out, _, err := f.rule.prg.Eval(act)
	if err != nil || out != types.True {
		return f.Message, true
	}
	return Text{}, false
}

func (f *EditableField) checkType(value any) (Text, bool) {
	ok := false
	switch f.Type {
	case "string":
		_, ok = value.(string)
	case "date":
		s, isStr := value.(string)
		ok = isStr && func() bool { _, err := parseDate(s); return err == nil }()
	case "bool":
		_, ok = value.(bool)
	case "int":
		switch v := value.(type) {
		case int64:
			ok = true
		case float64:
			ok = v == math.Trunc(v)
		}
	case "number":
		switch value.(type) {
		case int64, float64:
			ok = true
		case json.Number:
			ok = true
		}
	}
	if ok {
		return Text{}, false
	}
	ru := map[string]string{"string": "строка", "date": "дата ГГГГ-ММ-ДД", "bool": "да или нет", "int": "целое число", "number": "число"}
	en := map[string]string{"string": "a string", "date": "a date YYYY-MM-DD", "bool": "true or false", "int": "a whole number", "number": "a number"}
	return Text{RU: "ожидается " + ru[f.Type], EN: "expected " + en[f.Type]}, true
}
