package catalogue

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"
)

var paramTypes = map[string]bool{"int": true, "number": true, "string": true, "bool": true}

func parseParameter(r *reader, n *yaml.Node) *Parameter {
	ctx := fmt.Sprintf("parameter %q", peek(n, "name"))
	m := r.fields(n, ctx, "name", "description", "unit", "type", "keyed_by", "legal_basis", "values")
	if !r.require(m, n, ctx, "name", "type", "values") && m["name"] == nil {
		return nil
	}
	p := &Parameter{Name: r.id(m["name"], ctx, "name"), pos: r.at(n)}
	if v := m["description"]; v != nil {
		p.Description = r.text(v, ctx, "description")
	}
	if v := m["unit"]; v != nil {
		p.Unit = r.str(v, ctx, "unit")
	}
	if v := m["legal_basis"]; v != nil {
		p.LegalBasis = r.str(v, ctx, "legal_basis")
	}
	if v := m["type"]; v != nil {
		p.Type = r.str(v, ctx, "type")
		if p.Type != "" && !paramTypes[p.Type] {
			r.errorf(v, ctx, "type %q is not one of int, number, string, bool", p.Type)
		}
	}
	if v := m["keyed_by"]; v != nil {
		p.KeyedBy = r.str(v, ctx, "keyed_by")
		if p.KeyedBy != "region" {
			r.errorf(v, ctx, "keyed_by %q: only region is supported", p.KeyedBy)
		}
	}
	if v := m["values"]; v != nil {
		for i, vn := range r.seq(v, ctx, "values") {
			if pv, ok := parseParamValue(r, vn, p, fmt.Sprintf("%s: value %d", ctx, i+1)); ok {
				p.Values = append(p.Values, pv)
			}
		}
		if len(p.Values) == 0 {
			r.errorf(v, ctx, "values: a parameter needs at least one value")
		}
	}
	return p
}

func parseParamValue(r *reader, n *yaml.Node, p *Parameter, ctx string) (ParamValue, bool) {
	f := r.fields(n, ctx, "region", "valid_from", "valid_to", "value")
	if !r.require(f, n, ctx, "valid_from", "value") {
		return ParamValue{}, false
	}
	pv := ParamValue{pos: r.at(n), ValidFrom: r.date(f["valid_from"], ctx, "valid_from")}
	if v := f["valid_to"]; v != nil {
		pv.ValidTo = r.date(v, ctx, "valid_to")
		if pv.ValidFrom != "" && pv.ValidTo != "" && pv.ValidTo < pv.ValidFrom {
			r.errorf(v, ctx, "valid_to %s is before valid_from %s", pv.ValidTo, pv.ValidFrom)
		}
	}
	switch rv := f["region"]; {
	case p.KeyedBy == "region" && rv == nil:
		r.errorf(n, ctx, "missing required field \"region\" (the parameter is keyed by region; use \"default\" for other regions)")
	case p.KeyedBy != "region" && rv != nil:
		r.errorf(rv, ctx, "region given but the parameter is not keyed by region")
	case rv != nil:
		pv.Region = r.str(rv, ctx, "region")
	}
	val, ok := r.paramValue(f["value"], p.Type, ctx)
	pv.Value = val
	return pv, ok
}

func (r *reader) paramValue(n *yaml.Node, typ, ctx string) (any, bool) {
	s, ok := r.scalar(n, ctx, "value")
	if !ok {
		return nil, false
	}
	switch typ {
	case "int":
		v, err := strconv.ParseInt(s.Value, 10, 64)
		if err != nil || s.ShortTag() != "!!int" {
			r.errorf(n, ctx, "value %q is not an integer", s.Value)
			return nil, false
		}
		return v, true
	case "number":
		v, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || (s.ShortTag() != "!!int" && s.ShortTag() != "!!float") {
			r.errorf(n, ctx, "value %q is not a number", s.Value)
			return nil, false
		}
		return v, true
	case "bool":
		v, err := strconv.ParseBool(s.Value)
		if err != nil || s.ShortTag() != "!!bool" {
			r.errorf(n, ctx, "value %q is not true or false", s.Value)
			return nil, false
		}
		return v, true
	default:
		return s.Value, true
	}
}
