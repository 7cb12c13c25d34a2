package audit

import (
	"bytes"
	"slices"
)

// equalJSON reports whether two JSON texts hold the same value, as sameJSON
// does, but first compares them with every object's members in key order
// (canonical): the log records decisions with their keys sorted while the
// replay marshals them in struct order, and reordering the bytes costs a
// fraction of decoding both. Equal canonical texts hold equal values (the
// reordering keeps every member, duplicates included); texts that differ
// otherwise (1.0 and 1, an escaped and a plain character) are left to
// sameJSON, so the verdict is sameJSON's.
func equalJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	// b reordered may be a already (the log's keys are sorted): then a is
	// b reordered, which holds b's value.
	// A canonical text is no longer than its source: one allocation each.
	cb, okB := canonical(make([]byte, 0, len(b)), b)
	if okB && bytes.Equal(a, cb) {
		return true
	}
	if ca, okA := canonical(make([]byte, 0, len(a)), a); okA && okB && bytes.Equal(ca, cb) {
		return true
	}
	return sameJSON(a, b)
}

// canonical appends src to dst with whitespace outside strings dropped and
// every object's members ordered by their key's bytes (stably); false when
// src is not one well-formed JSON value as far as the reordering needs.
func canonical(dst, src []byte) ([]byte, bool) {
	dst, i, ok := canonValue(dst, src, skipSpace(src, 0))
	return dst, ok && skipSpace(src, i) == len(src)
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

// canonValue appends the value at src[i:] and returns where it ends.
func canonValue(dst, src []byte, i int) ([]byte, int, bool) {
	if i >= len(src) {
		return dst, i, false
	}
	switch src[i] {
	case '{':
		return canonObject(dst, src, i)
	case '[':
		dst = append(dst, '[')
		i = skipSpace(src, i+1)
		if i < len(src) && src[i] == ']' {
			return append(dst, ']'), i + 1, true
		}
		for {
			var ok bool
			if dst, i, ok = canonValue(dst, src, i); !ok {
				return dst, i, false
			}
			i = skipSpace(src, i)
			if i >= len(src) {
				return dst, i, false
			}
			if src[i] == ']' {
				return append(dst, ']'), i + 1, true
			}
			if src[i] != ',' {
				return dst, i, false
			}
			dst = append(dst, ',')
			i = skipSpace(src, i+1)
		}
	case '"':
		end, ok := stringEnd(src, i)
		return append(dst, src[i:end]...), end, ok
	default: // a number, true, false or null: up to the next delimiter
		j := i
		for j < len(src) && !delimiter(src[j]) {
			j++
		}
		return append(dst, src[i:j]...), j, j > i
	}
}

func delimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// stringEnd returns the index just past the string starting at src[i].
func stringEnd(src []byte, i int) (int, bool) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return len(src), false
}

// member is one member of an object being reordered: its key's bytes (with
// quotes) and where its canonical text (key, colon and value) lies in dst.
type member struct {
	key        []byte
	start, end int
}

// canonObject appends the members in place, in their order, then reorders
// them if their keys are not in order already (the log's are, and most
// replayed objects are maps, which encoding/json sorts): one copy of the
// object's text then, none otherwise.
func canonObject(dst, src []byte, i int) ([]byte, int, bool) {
	var (
		stack   [16]member
		members = stack[:0]
	)
	i = skipSpace(src, i+1)
	if i < len(src) && src[i] == '}' {
		return append(dst, '{', '}'), i + 1, true
	}
	dst = append(dst, '{')
	sorted := true
	for {
		if i >= len(src) || src[i] != '"' {
			return dst, i, false
		}
		end, ok := stringEnd(src, i)
		if !ok {
			return dst, i, false
		}
		if len(members) > 0 {
			dst = append(dst, ',')
		}
		m := member{key: src[i:end], start: len(dst)}
		if len(members) > 0 && bytes.Compare(members[len(members)-1].key, m.key) > 0 {
			sorted = false
		}
		dst = append(dst, src[i:end]...)
		i = skipSpace(src, end)
		if i >= len(src) || src[i] != ':' {
			return dst, i, false
		}
		dst = append(dst, ':')
		if dst, i, ok = canonValue(dst, src, skipSpace(src, i+1)); !ok {
			return dst, i, false
		}
		m.end = len(dst)
		members = append(members, m)
		i = skipSpace(src, i)
		if i >= len(src) {
			return dst, i, false
		}
		if src[i] == '}' {
			i++
			break
		}
		if src[i] != ',' {
			return dst, i, false
		}
		i = skipSpace(src, i+1)
	}
	if !sorted {
		from := members[0].start
		text := slices.Clone(dst[from:])
		slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
		dst = dst[:from]
		for n, m := range members {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, text[m.start-from:m.end-from]...)
		}
	}
	return append(dst, '}'), i, true
}
