package catalogue

import (
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// fillByRegexp is how texts were filled before templates: the placeholder
// expression matched anew on every decision.
func fillByRegexp(s string, vars map[string]any, lang string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			return m
		}
		if r, ok := v.(ref.Val); ok {
			v = native(r)
		}
		return formatValue(v, lang)
	})
}

func TestTemplatesFillAsTheRegexp(t *testing.T) {
	vars := map[string]any{
		"income_year": "2025", "per_capita_income": types.Double(20000.5), "household_income": 480012.0,
		"household_size": types.Int(3), "subsistence_minimum": types.Double(28052), "region": "RU-MOW",
		"event_date": types.String("2026-10-01"), "list": []any{int64(1), "a"},
	}
	lookup := func(name string) (any, bool) { v, ok := vars[name]; return v, ok }
	texts := []string{
		"", "no placeholder", "{{income_year}}", "a {{ income_year }} b {{unknown}} c {{}} d {{region}}{{region}}",
		"{{ {{region}} }}", "{{list}} and {{household_size}}", "trailing {{event_date", "{{per_capita_income}}",
	}
	for _, sit := range defaultCatalogue(t).situations {
		var steps func([]*Step)
		steps = func(sts []*Step) {
			for _, st := range sts {
				for _, r := range st.eff.rules {
					texts = append(texts, r.reason.RU, r.reason.EN)
				}
				for _, n := range st.eff.notes {
					texts = append(texts, n.text.RU, n.text.EN)
				}
				steps(st.FollowUps)
			}
		}
		steps(sit.Steps)
	}
	for _, s := range texts {
		for _, lang := range []string{"ru", "en"} {
			if got, want := fill(s, lookup, lang), fillByRegexp(s, vars, lang); got != want {
				t.Errorf("%q (%s):\n got %q\nwant %q", s, lang, got, want)
			}
		}
	}
}
