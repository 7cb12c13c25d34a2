package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// canonical is the catalogue's content independent of how it is written:
// entities keyed by id, mapping keys sorted (by encoding/json), comments,
// anchors and the split into files gone. List order is kept: it is meaning
// (the order of steps and rules). Let bindings are a mapping and lose their
// order, which only decides whether they compile, not what they mean.
type canonical struct {
	version string
	items   map[string]map[string]any
}

func (c *canonical) add(kind, id string, n *yaml.Node) {
	if c.items == nil {
		c.items = map[string]map[string]any{}
	}
	if c.items[kind] == nil {
		c.items[kind] = map[string]any{}
	}
	c.items[kind][id] = plain(n)
}

// plain converts a node to maps, lists and tagged scalars. The tag keeps
// `1` and `"1"` apart; the text is kept as written so no float is rounded.
func plain(n *yaml.Node) any {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[resolve(n.Content[i]).Value] = plain(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = plain(c)
		}
		return l
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return plain(n.Content[0])
	default:
		if n.ShortTag() == "!!str" {
			return n.Value
		}
		return n.ShortTag() + " " + n.Value
	}
}

func (c *canonical) hash() (string, error) {
	doc := map[string]any{"version": c.version}
	for kind, m := range c.items {
		doc[kind] = m
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encoding the canonical catalogue: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
