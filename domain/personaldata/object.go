package personaldata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// object is a JSON object of a payload decoded one level deep: where each
// member's key and value are in the payload, in their order. Values are
// not copied: a value replaced is kept aside, and written in its place
// again, only a replaced value differs, so a payload with a sealed field
// opens to the very bytes it was appended with (readers that compare bytes,
// such as audit verify, keep their fast path).
type object struct {
	data    []byte // the whole payload: every offset below is into it
	members []member
	// verbatim: encoding the object with its values gives its own bytes
	// (compact, keys needing no escape), so replacing values in place in
	// the payload gives what encoding it again would.
	verbatim bool
	parent   *object // nil for the root
	at       int     // the member of parent whose value it is
	// The rare parts of members, kept apart so that members stay small:
	// those of a payload's objects share one allocation.
	unquoted []keyOf       // the keys with escapes, decoded
	replaced []replacement // the values replaced
}

type member struct {
	keyStart, keyEnd int     // data[keyStart:keyEnd] is the key without its quotes
	valStart, valEnd int     // data[valStart:valEnd] is the value
	sub              *object // the value decoded, once it was
	escaped          bool    // the key has escapes: decoded in unquoted
	hasReplaced      bool    // the value is replaced: in replaced
	dirty            bool    // a value in sub was replaced
}

type keyOf struct {
	i   int
	key string
}

type replacement struct {
	i   int
	val json.RawMessage
}

var errNotObject = errors.New("not a JSON object")

// decodeObject decodes a payload's root object.
func decodeObject(data []byte) (*object, error) {
	var arena []member
	return decodeAt(data, 0, len(data), nil, &arena)
}

// decodeAt splits data[start:end] into its members with a scanner that
// finds where each value ends without decoding it: payloads are sealed on
// every append and a decision's is large, so encoding/json's decoder (which
// builds every value) cost a third of the CPU of a burst. The payloads are
// JSON the application encoded or ingest validated; the scanner still
// refuses what is not an object of well-formed strings and balanced
// brackets. The members are appended to arena, shared by the objects of a
// payload so that they take few allocations.
func decodeAt(data []byte, start, end int, parent *object, arena *[]member) (*object, error) {
	d := data[:end]
	i := skipSpace(d, start)
	verbatim := i == start
	if i >= len(d) || d[i] != '{' {
		return nil, errNotObject
	}
	first := len(*arena)
	var unquoted []keyOf
	next := skipSpace(d, i+1)
	verbatim = verbatim && next == i+1
	i = next
	if i < len(d) && d[i] == '}' {
		return finish(d, i+1, parent, arena, first, verbatim, unquoted)
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return nil, fmt.Errorf("%w: a key expected at offset %d", errNotObject, i)
		}
		kend, err := skipString(d, i)
		if err != nil {
			return nil, err
		}
		m := member{keyStart: i + 1, keyEnd: kend - 1}
		if bytes.IndexByte(d[i:kend], '\\') >= 0 {
			k, err := unquote(d[i:kend])
			if err != nil {
				return nil, err
			}
			m.escaped = true
			unquoted = append(unquoted, keyOf{i: len(*arena) - first, key: k})
		}
		verbatim = verbatim && !m.escaped && plainKey(d[m.keyStart:m.keyEnd])
		next = skipSpace(d, kend)
		verbatim = verbatim && next == kend
		if i = next; i >= len(d) || d[i] != ':' {
			return nil, fmt.Errorf("%w: ':' expected at offset %d", errNotObject, i)
		}
		next = skipSpace(d, i+1)
		verbatim = verbatim && next == i+1
		i = next
		vend, err := skipValue(d, i)
		if err != nil {
			return nil, err
		}
		m.valStart, m.valEnd = i, vend
		*arena = append(*arena, m)
		next = skipSpace(d, vend)
		verbatim = verbatim && next == vend
		if i = next; i < len(d) && d[i] == ',' {
			next = skipSpace(d, i+1)
			verbatim = verbatim && next == i+1
			i = next
			continue
		}
		if i < len(d) && d[i] == '}' {
			return finish(d, i+1, parent, arena, first, verbatim, unquoted)
		}
		return nil, fmt.Errorf("%w: ',' or '}' expected at offset %d", errNotObject, i)
	}
}

// finish checks that nothing but space follows the object's closing brace
// at i, and returns the object of the members appended from first on.
func finish(d []byte, i int, parent *object, arena *[]member, first int, verbatim bool, unquoted []keyOf) (*object, error) {
	if next := skipSpace(d, i); next != len(d) {
		return nil, fmt.Errorf("%w: data after the object at offset %d", errNotObject, i)
	} else if next != i {
		verbatim = false
	}
	ms := (*arena)[first:len(*arena):len(*arena)]
	if len(ms) == 0 {
		ms = nil
	}
	return &object{data: d, members: ms, verbatim: verbatim, parent: parent, unquoted: unquoted}, nil
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
		return skipNested(data, i)
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

// skipNested returns the offset just past the object or array starting at
// data[i], checking that its brackets match.
func skipNested(data []byte, i int) (int, error) {
	var stack [64]byte // the brackets not closed yet, innermost last: no allocation for most payloads
	open := stack[:0]
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

// keyBytes is member i's key: its bytes in the payload, or the decoded key
// when it has escapes.
func (o *object) keyBytes(i int) []byte {
	m := &o.members[i]
	if m.escaped {
		return []byte(o.unquotedKey(i))
	}
	return o.data[m.keyStart:m.keyEnd]
}

// key is member i's key as a string (a copy).
func (o *object) key(i int) string {
	m := &o.members[i]
	if m.escaped {
		return o.unquotedKey(i)
	}
	return string(o.data[m.keyStart:m.keyEnd])
}

func (o *object) unquotedKey(i int) string {
	for _, k := range o.unquoted {
		if k.i == i {
			return k.key
		}
	}
	panic("personaldata: an escaped key not decoded")
}

// keyIs reports whether member i's key is k, without a copy.
func (o *object) keyIs(i int, k string) bool {
	m := &o.members[i]
	if m.escaped {
		return o.unquotedKey(i) == k
	}
	return m.keyEnd-m.keyStart == len(k) && string(o.data[m.keyStart:m.keyEnd]) == k
}

// sameKey reports whether members i and j have the same key.
func (o *object) sameKey(i, j int) bool {
	mi, mj := &o.members[i], &o.members[j]
	if !mi.escaped && !mj.escaped {
		return bytes.Equal(o.data[mi.keyStart:mi.keyEnd], o.data[mj.keyStart:mj.keyEnd])
	}
	return o.key(i) == o.key(j)
}

// val is member i's value as it is now (replaced or not).
func (o *object) val(i int) json.RawMessage {
	m := &o.members[i]
	if m.hasReplaced {
		return o.replacedVal(i)
	}
	return o.data[m.valStart:m.valEnd:m.valEnd]
}

func (o *object) replacedVal(i int) json.RawMessage {
	for _, r := range o.replaced {
		if r.i == i {
			return r.val
		}
	}
	panic("personaldata: a replaced value missing")
}

// replace sets member i's value, marking the objects holding it as
// changed.
func (o *object) replace(i int, v json.RawMessage) {
	if o.members[i].hasReplaced {
		for k := range o.replaced {
			if o.replaced[k].i == i {
				o.replaced[k].val = v
			}
		}
	} else {
		o.members[i].hasReplaced = true
		o.replaced = append(o.replaced, replacement{i: i, val: v})
	}
	for c := o; c.parent != nil; c = c.parent {
		c.parent.members[c.at].dirty = true
	}
}

// index is the first member with key k, -1 when there is none: what a
// reader of a duplicated key gets here, as before.
func (o *object) index(k string) int {
	for i := range o.members {
		if o.keyIs(i, k) {
			return i
		}
	}
	return -1
}

// first is the first member with member i's key.
func (o *object) first(i int) int {
	for j := 0; j < i; j++ {
		if o.sameKey(i, j) {
			return j
		}
	}
	return i
}

// sub decodes member i's value, an object, once.
func (o *object) sub(i int, arena *[]member) (*object, error) {
	m := &o.members[i]
	if m.sub != nil {
		return m.sub, nil
	}
	s, err := decodeAt(o.data, m.valStart, m.valEnd, o, arena)
	if err != nil {
		// Again on its own, for the offsets in the error to be the
		// value's, as they always were.
		_, err = decodeObject(o.data[m.valStart:m.valEnd])
		return nil, err
	}
	// arena may have grown into a new array: o.members still is o's own.
	s.at = i
	o.members[i].sub = s
	return s, nil
}

// encode writes the object compactly, keys escaped as encoding/json does
// without HTML escaping, values as they are now (objects with a replaced
// value inside encoded again).
func (o *object) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(o.size())
	if err := o.encodeTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (o *object) size() int {
	size := 2
	for i := range o.members {
		m := &o.members[i]
		size += m.keyEnd - m.keyStart + m.valEnd - m.valStart + 4
	}
	for _, r := range o.replaced {
		size += len(r.val)
	}
	return size
}

func (o *object) encodeTo(buf *bytes.Buffer) error {
	buf.WriteByte('{')
	for i := range o.members {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeKey(buf, o.key(i)); err != nil {
			return err
		}
		buf.WriteByte(':')
		if m := &o.members[i]; m.dirty && !m.hasReplaced {
			if err := m.sub.encodeTo(buf); err != nil {
				return err
			}
			continue
		}
		buf.Write(o.val(i))
	}
	buf.WriteByte('}')
	return nil
}

// plainKey: a key of printable ASCII without a quote or a backslash, which
// encoding writes as it is.
func plainKey(key []byte) bool {
	for _, c := range key {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
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
