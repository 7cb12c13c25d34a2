package personaldata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// object is a JSON object decoded one level deep, its members in their
// order and their values as they were: encoded again, only a replaced value
// differs, so a payload with a sealed field opens to the very bytes it was
// appended with (readers that compare bytes, such as audit verify, keep
// their fast path).
type object struct {
	members []member
}

type member struct {
	key string
	val json.RawMessage // a slice of the decoded bytes, never written to
}

var errNotObject = errors.New("not a JSON object")

// decodeObject splits data into its members with a scanner that finds where
// each value ends without decoding it: payloads are sealed on every append
// and a decision's is large, so encoding/json's decoder (which builds every
// value) cost a third of the CPU of a burst. The payloads are JSON the
// application encoded or ingest validated; the scanner still refuses what is
// not an object of well-formed strings and balanced brackets.
func decodeObject(data []byte) (*object, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, errNotObject
	}
	o := &object{}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return o, trailing(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, fmt.Errorf("%w: a key expected at offset %d", errNotObject, i)
		}
		end, err := skipString(data, i)
		if err != nil {
			return nil, err
		}
		key, err := unquote(data[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, fmt.Errorf("%w: ':' expected at offset %d", errNotObject, i)
		}
		i = skipSpace(data, i+1)
		vend, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		o.members = append(o.members, member{key: key, val: data[i:vend:vend]})
		i = skipSpace(data, vend)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
			continue
		}
		if i < len(data) && data[i] == '}' {
			return o, trailing(data, i+1)
		}
		return nil, fmt.Errorf("%w: ',' or '}' expected at offset %d", errNotObject, i)
	}
}

func trailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return fmt.Errorf("%w: data after the object at offset %d", errNotObject, i)
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset just past the string starting at data[i]:
// the first quote after it not escaped by an odd run of backslashes.
func skipString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			break
		}
		q := j + k
		escapes := 0
		for b := q - 1; b > i && data[b] == '\\'; b-- {
			escapes++
		}
		if escapes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
	return 0, fmt.Errorf("%w: unterminated string at offset %d", errNotObject, i)
}

// skipValue returns the offset just past the value starting at data[i]: a
// string, an object or array with everything nested in it, or a literal
// (number, true, false, null).
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, fmt.Errorf("%w: a value expected at the end", errNotObject)
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		var open []byte // the brackets not closed yet, innermost last
		for j := i; j < len(data); j++ {
			switch c := data[j]; c {
			case '"':
				end, err := skipString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				open = append(open, c)
			case '}', ']':
				if len(open) == 0 || open[len(open)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
					return 0, fmt.Errorf("%w: a mismatched %q at offset %d", errNotObject, c, j)
				}
				if open = open[:len(open)-1]; len(open) == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: unbalanced brackets from offset %d", errNotObject, i)
	}
	j := i
	for j < len(data) && !endsLiteral(data[j]) {
		j++
	}
	if j == i {
		return 0, fmt.Errorf("%w: a value expected at offset %d", errNotObject, i)
	}
	return j, nil
}

func endsLiteral(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// unquote decodes a JSON string; one without escapes is its bytes.
func unquote(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %v", errNotObject, err)
	}
	return s, nil
}

func (o *object) get(key string) (json.RawMessage, bool) {
	for _, m := range o.members {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

func (o *object) set(key string, v json.RawMessage) {
	for i := range o.members {
		if o.members[i].key == key {
			o.members[i].val = v
			return
		}
	}
	o.members = append(o.members, member{key: key, val: v})
}

func (o *object) keys() []string {
	out := make([]string, len(o.members))
	for i, m := range o.members {
		out[i] = m.key
	}
	return out
}

// encode writes the object compactly, keys escaped as encoding/json does
// without HTML escaping, values as they are.
func (o *object) encode() ([]byte, error) {
	size := 2
	for _, m := range o.members {
		size += len(m.key) + len(m.val) + 4
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteByte('{')
	for i, m := range o.members {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeKey(buf, m.key); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		buf.Write(m.val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeKey writes a key quoted; one of printable ASCII without a quote or
// a backslash needs no escape, any other goes through encoding/json.
func writeKey(buf *bytes.Buffer, key string) error {
	plain := true
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
	}
	if plain {
		buf.WriteByte('"')
		buf.WriteString(key)
		buf.WriteByte('"')
		return nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(key); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
