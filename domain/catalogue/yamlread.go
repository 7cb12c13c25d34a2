package catalogue

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// reader turns yaml.Nodes into values, reporting every mistake with the
// file and line of the node, so the loader can list them all.
type reader struct {
	file  string
	probs *problems
}

func (r *reader) at(n *yaml.Node) pos { return pos{file: r.file, line: n.Line} }

func (r *reader) errorf(n *yaml.Node, ctx, format string, args ...any) {
	r.probs.add(r.at(n), ctx, format, args...)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

type pair struct {
	key  string
	kpos *yaml.Node
	val  *yaml.Node
}

// pairs returns a mapping's entries in written order; duplicate keys are
// reported because YAML would otherwise silently keep one.
func (r *reader) pairs(n *yaml.Node, ctx string) []pair {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		r.errorf(n, ctx, "expected a mapping, got %s", kindName(n))
		return nil
	}
	seen := map[string]bool{}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if seen[k.Value] {
			r.errorf(k, ctx, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, kpos: k, val: v})
	}
	return out
}

// fields checks that n is a mapping holding only allowed keys and returns its
// values by key.
func (r *reader) fields(n *yaml.Node, ctx string, allowed ...string) map[string]*yaml.Node {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	out := map[string]*yaml.Node{}
	for _, p := range r.pairs(n, ctx) {
		if !ok[p.key] {
			r.errorf(p.kpos, ctx, "unknown key %q (allowed: %s)", p.key, strings.Join(allowed, ", "))
			continue
		}
		out[p.key] = p.val
	}
	return out
}

// require reports each missing key at the mapping's line.
func (r *reader) require(m map[string]*yaml.Node, n *yaml.Node, ctx string, keys ...string) bool {
	all := true
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			r.errorf(n, ctx, "missing required field %q", k)
			all = false
		}
	}
	return all
}

func (r *reader) seq(n *yaml.Node, ctx, field string) []*yaml.Node {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, ctx, "%s: expected a list, got %s", field, kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

func (r *reader) scalar(n *yaml.Node, ctx, field string) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		r.errorf(n, ctx, "%s: expected a scalar, got %s", field, kindName(n))
		return nil, false
	}
	if n.ShortTag() == "!!null" {
		r.errorf(n, ctx, "%s: must not be empty", field)
		return nil, false
	}
	return n, true
}

func (r *reader) str(n *yaml.Node, ctx, field string) string {
	s, ok := r.scalar(n, ctx, field)
	if !ok {
		return ""
	}
	if strings.TrimSpace(s.Value) == "" {
		r.errorf(n, ctx, "%s: must not be empty", field)
	}
	return s.Value
}

func (r *reader) integer(n *yaml.Node, ctx, field string) (int, bool) {
	s, ok := r.scalar(n, ctx, field)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s.Value)
	if s.ShortTag() != "!!int" || err != nil {
		r.errorf(n, ctx, "%s: %q is not an integer", field, s.Value)
		return 0, false
	}
	return v, true
}

func (r *reader) date(n *yaml.Node, ctx, field string) string {
	s := r.str(n, ctx, field)
	if s == "" {
		return ""
	}
	if _, err := parseDate(s); err != nil {
		r.errorf(n, ctx, "%s: %v", field, err)
		return ""
	}
	return s
}

func (r *reader) text(n *yaml.Node, ctx, field string) Text {
	c := ctx + ": " + field
	m := r.fields(n, c, "ru", "en")
	r.require(m, n, c, "ru", "en")
	var t Text
	if v, ok := m["ru"]; ok {
		t.RU = r.str(v, c, "ru")
	}
	if v, ok := m["en"]; ok {
		t.EN = r.str(v, c, "en")
	}
	return t
}

func (r *reader) strList(n *yaml.Node, ctx, field string) []string {
	var out []string
	for _, c := range r.seq(n, ctx, field) {
		out = append(out, r.str(c, ctx, field))
	}
	return out
}

// expr reads an expression's source; it is compiled later, once every
// declaration it may refer to is known.
func (r *reader) expr(n *yaml.Node, ctx, field string) *expr {
	s, ok := r.scalar(n, ctx, field)
	if !ok {
		return nil
	}
	p := r.at(s)
	if s.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		p.offset = 1
	}
	if strings.TrimSpace(s.Value) == "" {
		r.errorf(n, ctx, "%s: empty expression", field)
		return nil
	}
	return &expr{src: s.Value, pos: p, ctx: ctx + ": " + field}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return "a scalar"
	default:
		return "a document"
	}
}
