package catalogue

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types/ref"
)

// A rule's reason and a note's text may show the figures a decision used:
// {{name}} stands for the value of a variable in the rule's scope (a let,
// applicant, beneficiary, event_date), written for each language: whole
// numbers with grouped thousands (28 052 / 28,052), other numbers (double)
// with two decimals (28 052,00 / 28,052.00), lists joined by commas.
var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// placeholders lists the names a text's placeholders refer to.
func placeholders(t Text) []string {
	var out []string
	for _, s := range []string{t.RU, t.EN} {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// checkPlaceholders reports a placeholder that is not a variable of env.
// at is the expression the text goes with (the rule's or note's condition).
func (c *compiler) checkPlaceholders(env *cel.Env, t Text, at *expr, what string) {
	if at == nil {
		return
	}
	for _, name := range placeholders(t) {
		if !identifier.MatchString(name) {
			c.probs.add(at.pos, at.ctx, "%s: {{%s}} is not a variable name", what, name)
			continue
		}
		c.compile(env, &expr{src: name, pos: at.pos, ctx: at.ctx + ": " + what + " {{" + name + "}}"}, wantAny)
	}
}

// fillText replaces the placeholders of t with the values lookup finds.
func fillText(t Text, lookup func(name string) (any, bool)) Text {
	if !strings.Contains(t.RU, "{{") && !strings.Contains(t.EN, "{{") {
		return t
	}
	return Text{RU: fill(t.RU, lookup, "ru"), EN: fill(t.EN, lookup, "en")}
}

// fill replaces each placeholder whose name lookup finds by its value and
// leaves the others as written.
func fill(s string, lookup func(name string) (any, bool), lang string) string {
	var b strings.Builder
	for _, seg := range templateOf(s) {
		if seg.name == "" {
			b.WriteString(seg.text)
			continue
		}
		v, ok := lookup(seg.name)
		if !ok {
			b.WriteString(seg.text)
			continue
		}
		if r, ok := v.(ref.Val); ok {
			v = native(r)
		}
		b.WriteString(formatValue(v, lang))
	}
	return b.String()
}

// segment is a piece of a text: literal text, or a placeholder with the
// name it refers to and its text as written.
type segment struct {
	text string
	name string
}

// templates caches texts split into segments: a catalogue's texts are few
// and fixed, and matching the placeholder expression on every decision
// cost more than the rest of filling them.
var templates sync.Map // string → []segment

func templateOf(s string) []segment {
	if t, ok := templates.Load(s); ok {
		return t.([]segment)
	}
	var segs []segment
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			segs = append(segs, segment{text: s[last:m[0]]})
		}
		segs = append(segs, segment{text: s[m[0]:m[1]], name: s[m[2]:m[3]]})
		last = m[1]
	}
	if last < len(s) {
		segs = append(segs, segment{text: s[last:]})
	}
	templates.Store(s, segs)
	return segs
}

func formatValue(v any, lang string) string {
	switch x := v.(type) {
	case int64:
		return group(strconv.FormatInt(x, 10), lang)
	case uint64:
		return group(strconv.FormatUint(x, 10), lang)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		s := strconv.FormatFloat(x, 'f', 2, 64)
		whole, frac, _ := strings.Cut(s, ".")
		sep := "."
		if lang == "ru" {
			sep = ","
		}
		return group(whole, lang) + sep + frac
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e, lang)
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// group separates thousands: a space in Russian, a comma in English.
func group(digits, lang string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	sep := ","
	if lang == "ru" {
		sep = "\u00a0"
	}
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return sign + b.String()
}
