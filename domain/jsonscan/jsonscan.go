// Package jsonscan reads JSON as the sagas and registries write it, fast:
// a validity check in one tight pass (Valid) and a walk through an
// object's members that finds where each value ends without decoding it
// (Members), and decoders of the plain values encoding/json would decode
// the same way (String, Strings, UUID, Any). The register's, the cabinet's
// and the auditor's decoders of the hottest events use them to decode the
// members they need, and leave anything unusual to encoding/json.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Valid reports whether data is one valid JSON value, as json.Valid does,
// in one tight pass (json.Valid steps a state machine through a function
// call per byte, most of what a fast decoding costs). It may also say
// false for valid JSON nested deeper than it cares to follow (maxDepth):
// the caller then gives up and leaves the data to encoding/json, which
// decides. TestValidIsJSONValid.
func Valid(data []byte) bool {
	i, ok := validValue(data, SkipSpace(data, 0), 0)
	return ok && SkipSpace(data, i) == len(data)
}

const maxDepth = 64

// IsJSON is json.Valid's answer, in Valid's time when the answer is yes
// (a store checks every payload it appends, nearly all of them valid):
// only what Valid refuses is left to json.Valid.
func IsJSON(data []byte) bool { return Valid(data) || json.Valid(data) }

// validValue returns the index past the valid value at data[i].
func validValue(data []byte, i, depth int) (int, bool) {
	if i >= len(data) {
		return i, false
	}
	switch c := data[i]; {
	case c == '"':
		return validString(data, i)
	case c == '{':
		return validObject(data, i, depth+1)
	case c == '[':
		return validArray(data, i, depth+1)
	case c == '-' || '0' <= c && c <= '9':
		return validNumber(data, i)
	case c == 't':
		return validLiteral(data, i, "true")
	case c == 'f':
		return validLiteral(data, i, "false")
	case c == 'n':
		return validLiteral(data, i, "null")
	}
	return i, false
}

func validObject(data []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, false
		}
		var ok bool
		if i, ok = validString(data, i); !ok {
			return i, false
		}
		i = SkipSpace(data, i)
		if i >= len(data) || data[i] != ':' {
			return i, false
		}
		if i, ok = validValue(data, SkipSpace(data, i+1), depth); !ok {
			return i, false
		}
		i = SkipSpace(data, i)
		if i >= len(data) {
			return i, false
		}
		switch data[i] {
		case '}':
			return i + 1, true
		case ',':
			i = SkipSpace(data, i+1)
		default:
			return i, false
		}
	}
}

func validArray(data []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	i = SkipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = validValue(data, i, depth); !ok {
			return i, false
		}
		i = SkipSpace(data, i)
		if i >= len(data) {
			return i, false
		}
		switch data[i] {
		case ']':
			return i + 1, true
		case ',':
			i = SkipSpace(data, i+1)
		default:
			return i, false
		}
	}
}

// validString: no control characters, valid escapes; bytes of any value
// above them pass, as in encoding/json (which checks no UTF-8 here).
func validString(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		c := data[j]
		if plain[c] {
			continue
		}
		switch {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return j, false
		case c == '\\':
			j++
			if j >= len(data) {
				return j, false
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) {
					return j, false
				}
				for _, h := range data[j+1 : j+5] {
					if !isHex(h) {
						return j, false
					}
				}
				j += 4
			default:
				return j, false
			}
		}
	}
	return len(data), false
}

// plain marks the bytes that stand for themselves in a JSON string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// validNumber: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
func validNumber(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return i, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

func validLiteral(data []byte, i int, lit string) (int, bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// PlainString returns the content of a JSON string without escapes, in
// valid UTF-8: what encoding/json decodes it to.
func PlainString(value []byte) (string, bool) {
	if len(value) < 2 || value[0] != '"' {
		return "", false
	}
	return Plain(value[1 : len(value)-1])
}

// Plain returns the content of a JSON string, given without its quotes
// (a member name as Members gives it), when it has no escapes and is valid
// UTF-8: then it is what encoding/json decodes it to.
func Plain(content []byte) (string, bool) {
	if bytes.IndexByte(content, '\\') >= 0 || !utf8.Valid(content) {
		return "", false
	}
	return string(content), true
}

// String decodes a plain JSON string (PlainString) into dst; false on
// anything else, null included.
func String(dst *string, value []byte) bool {
	s, ok := PlainString(value)
	*dst = s
	return ok
}

// Bool decodes a JSON true or false into dst; false on anything else,
// null included.
func Bool(dst *bool, value []byte) bool {
	switch string(value) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return false
	}
	return true
}

// Members calls fn with the name (unquoted, as written) and the value of
// each member of the object obj, which must be valid JSON, until fn
// returns false; false when obj is not an object or fn returned false.
func Members(obj []byte, fn func(key, value []byte) bool) bool {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = SkipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		end := StringEnd(obj, i)
		key := obj[i+1 : end-1]
		i = SkipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = SkipSpace(obj, i+1)
		vend := ValueEnd(obj, i)
		if vend <= i || !fn(key, obj[i:vend]) {
			return false
		}
		i = SkipSpace(obj, vend)
		if i >= len(obj) {
			return false
		}
		if obj[i] == '}' {
			return true
		}
		i = SkipSpace(obj, i+1) // the comma
	}
	return false
}

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func SkipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

// StringEnd returns the index just past the string that starts at src[i]:
// the first quote after it that an even number of backslashes precedes.
func StringEnd(src []byte, i int) int {
	for j := i + 1; ; j++ {
		k := bytes.IndexByte(src[j:], '"')
		if k < 0 {
			return len(src)
		}
		j += k
		escapes := 0
		for p := j - 1; p > i && src[p] == '\\'; p-- {
			escapes++
		}
		if escapes%2 == 0 {
			return j + 1
		}
	}
}

// ValueEnd returns the index just past the value at src[i], which is valid
// JSON: only strings and nesting are tracked.
func ValueEnd(src []byte, i int) int {
	depth := 0
	for j := i; j < len(src); j++ {
		switch src[j] {
		case '"':
			end := StringEnd(src, j)
			if depth == 0 {
				return end
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
			if depth < 0 {
				return j
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return j
			}
		}
	}
	return len(src)
}

// PlainMembers is Members for a decoder that mimics encoding/json: it
// gives up (false) at the first member whose name is not PlainName.
func PlainMembers(obj []byte, fn func(key, value []byte) bool) bool {
	return Members(obj, func(key, value []byte) bool { return PlainName(key) && fn(key, value) })
}

// PlainName reports whether a member name (as written) names a Go field
// for encoding/json only if it equals the field's JSON name: lower case
// ASCII without escapes. Any other name might match a field by
// encoding/json's unescaping or case folding: a fast decoder gives up on it.
func PlainName(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// Once tells, for a fast decoder, whether the member it numbers i (below
// 32) is met for the first time: a repeated member is left to
// encoding/json, whose merging of a repeat it does not mimic.
type Once uint32

// First reports whether member i is met for the first time, and notes it.
func (o *Once) First(i int) bool {
	bit := Once(1) << i
	if *o&bit != 0 {
		return false
	}
	*o |= bit
	return true
}

// Elements calls fn with each element of the array arr, which must be
// valid JSON, until fn returns false; false when arr is not an array or fn
// returned false.
func Elements(arr []byte, fn func(value []byte) bool) bool {
	i := SkipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = SkipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		end := ValueEnd(arr, i)
		if end <= i || !fn(arr[i:end]) {
			return false
		}
		i = SkipSpace(arr, end)
		if i >= len(arr) {
			return false
		}
		if arr[i] == ']' {
			return true
		}
		i = SkipSpace(arr, i+1) // the comma
	}
	return false
}

// UUID decodes a plain JSON string holding a uuid as uuid.UUID's
// UnmarshalText does (encoding/json's decoding of a uuid.UUID field).
func UUID(dst *uuid.UUID, value []byte) bool {
	s, ok := PlainString(value)
	if !ok {
		return false
	}
	id, err := uuid.Parse(s)
	*dst = id
	return err == nil
}

// StringMembers decodes an object as encoding/json decodes it into a
// struct of two string fields named (in JSON) names: each into the string
// dst holds at the same index, other members ignored. False on anything it
// does not mimic: a name that is not PlainName, a member repeated, a
// value that is not a plain string (PlainString), null included.
func StringMembers(obj []byte, names [2]string, dst [2]*string) bool {
	var seen Once
	return len(obj) > 0 && obj[0] == '{' && PlainMembers(obj, func(key, value []byte) bool {
		for i, n := range names {
			if string(key) == n {
				return seen.First(i) && String(dst[i], value)
			}
		}
		return true
	})
}

// Any decodes a JSON value into dst as encoding/json decodes it into an
// interface{} (map[string]any, []any, float64, string, bool or nil),
// for a value whose strings and names are all plain (Plain) and whose
// numbers are all finite float64s; false on anything else: the caller gives
// up and leaves the value to encoding/json. The value must be valid
// (Valid), so its nesting is bounded.
func Any(dst *any, value []byte) bool {
	v, ok := anyValue(value)
	*dst = v
	return ok
}

func anyValue(value []byte) (any, bool) {
	if len(value) == 0 {
		return nil, false
	}
	switch c := value[0]; {
	case c == '"':
		return PlainString(value)
	case c == '{':
		m := map[string]any{}
		ok := Members(value, func(key, v []byte) bool {
			name, ok := Plain(key)
			if !ok {
				return false
			}
			m[name], ok = anyValue(v)
			return ok
		})
		return m, ok
	case c == '[':
		a := []any{}
		ok := Elements(value, func(v []byte) bool {
			e, ok := anyValue(v)
			a = append(a, e)
			return ok
		})
		return a, ok
	case c == 't' || c == 'f':
		var b bool
		return b, Bool(&b, value)
	case c == 'n':
		return nil, string(value) == "null"
	}
	f, err := strconv.ParseFloat(string(value), 64)
	return f, err == nil
}

// Strings decodes an array of plain JSON strings, or null, into dst as
// encoding/json decodes it into a []string: nil for null, an empty slice
// (not nil) for an empty array. False on anything else: the caller gives
// up and leaves the value to encoding/json.
func Strings(dst *[]string, value []byte) bool {
	if string(value) == "null" {
		*dst = nil
		return true
	}
	if len(value) == 0 || value[0] != '[' {
		return false
	}
	out := []string{}
	ok := Elements(value, func(v []byte) bool {
		s, ok := PlainString(v)
		out = append(out, s)
		return ok
	})
	*dst = out
	return ok
}
