package catalogue

import (
	"fmt"
	"sort"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// DefaultRegion is the key of a regional parameter's value for every region
// that has no value of its own.
const DefaultRegion = "default"

// ParamUse is a parameter value a decision used, so that an auditor sees
// which figure was in force and why.
type ParamUse struct {
	Name string `json:"name"`
	// Region is the region asked for; Key is the value's region actually
	// used ("default" when the region has no value of its own).
	Region    string `json:"region,omitempty"`
	Key       string `json:"key,omitempty"`
	Value     any    `json:"value"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to,omitempty"`
}

// At returns the value in force on date for region (ignored when the
// parameter is not regional), falling back to the default region.
func (p *Parameter) At(date, region string) (ParamValue, bool) {
	if p.KeyedBy != "region" {
		return p.find(date, "")
	}
	if v, ok := p.find(date, region); ok {
		return v, true
	}
	return p.find(date, DefaultRegion)
}

func (p *Parameter) find(date, region string) (ParamValue, bool) {
	for _, v := range p.Values {
		if v.Region == region && v.covers(date) {
			return v, true
		}
	}
	return ParamValue{}, false
}

func (v ParamValue) covers(date string) bool {
	// Dates YYYY-MM-DD order as strings.
	return v.ValidFrom <= date && (v.ValidTo == "" || date <= v.ValidTo)
}

func (v ParamValue) period() string {
	to := v.ValidTo
	if to == "" {
		to = "open"
	}
	return v.ValidFrom + ".." + to
}

// checkOverlaps reports values of the same region whose periods overlap: a
// date must have exactly one value in force.
func checkOverlaps(p *Parameter, probs *problems) {
	byRegion := map[string][]int{}
	for i, v := range p.Values {
		if v.ValidFrom != "" {
			byRegion[v.Region] = append(byRegion[v.Region], i)
		}
	}
	for region, idx := range byRegion {
		sort.Slice(idx, func(a, b int) bool { return p.Values[idx[a]].ValidFrom < p.Values[idx[b]].ValidFrom })
		for k := 1; k < len(idx); k++ {
			prev, cur := p.Values[idx[k-1]], p.Values[idx[k]]
			if prev.ValidTo == "" || cur.ValidFrom <= prev.ValidTo {
				where := ""
				if region != "" {
					where = " for region " + region
				}
				probs.add(cur.pos, fmt.Sprintf("parameter %q: value %d", p.Name, idx[k]+1),
					"period %s overlaps value %d (%s)%s", cur.period(), idx[k-1]+1, prev.period(), where)
			}
		}
	}
}

// recorder serves param() for one evaluation and records every value read,
// in the order first read, for the decision's record.
type recorder struct {
	cat  *Catalogue
	date string
	uses []ParamUse
}

func (r *recorder) lookup(name, region string) (ParamUse, error) {
	p, ok := r.cat.params[name]
	if !ok {
		return ParamUse{}, fmt.Errorf("unknown parameter %q", name)
	}
	v, ok := p.At(r.date, region)
	if !ok {
		if p.KeyedBy == "region" {
			return ParamUse{}, fmt.Errorf("parameter %q has no value in force on %s for region %q or %q", name, r.date, region, DefaultRegion)
		}
		return ParamUse{}, fmt.Errorf("parameter %q has no value in force on %s", name, r.date)
	}
	use := ParamUse{Name: name, Value: v.Value, ValidFrom: v.ValidFrom, ValidTo: v.ValidTo}
	if p.KeyedBy == "region" {
		use.Region, use.Key = region, v.Region
	}
	for _, u := range r.uses {
		if u.Name == use.Name && u.Region == use.Region {
			return use, nil
		}
	}
	r.uses = append(r.uses, use)
	return use, nil
}

// celParam is the late-bound implementation of param().
func (r *recorder) celParam(_ string, args ...ref.Val) ref.Val {
	name, ok := args[0].(types.String)
	if !ok {
		return types.NewErr("param: name must be a string")
	}
	region := ""
	if len(args) == 2 {
		s, ok := args[1].(types.String)
		if !ok {
			return types.NewErr("param: region must be a string")
		}
		region = string(s)
	}
	p, ok := r.cat.params[string(name)]
	if ok && (p.KeyedBy == "region") != (len(args) == 2) {
		return types.NewErr("param %q: wrong number of arguments for its keying", string(name))
	}
	use, err := r.lookup(string(name), region)
	if err != nil {
		return types.WrapErr(err)
	}
	return types.DefaultTypeAdapter.NativeToValue(use.Value)
}
