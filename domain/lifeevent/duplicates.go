package lifeevent

import (
	"bytes"
	"encoding/json"
	"strconv"

	"lifesituations/domain/jsonscan"
)

// duplicateKey finds the first member name repeated within one object of
// data, at any depth, and returns the path to it (keys and array indexes).
// Such a payload reads differently to different parsers (encoding/json
// keeps the last value, the personal-data sealer the first), so a repeated
// personal field could be stored in clear beside its sealed twin: ingest
// refuses it. data must be valid JSON.
func duplicateKey(data []byte) ([]string, bool) {
	if path, found, ok := duplicateKeyPlain(data); ok {
		return path, found
	}
	return duplicateKeyDecoded(data)
}

// duplicateKeyPlain is duplicateKey for payloads whose member names have
// no escapes (as registries send them): it compares the names as written,
// without decoding anything. ok is false on an escaped name: two names
// written differently may then be the same, which only decoding tells.
func duplicateKeyPlain(v []byte) (path []string, found, ok bool) {
	i := jsonscan.SkipSpace(v, 0)
	if i >= len(v) {
		return nil, false, true
	}
	switch v[i] {
	case '{':
		var buf [16][]byte
		names := buf[:0]
		ok = true
		jsonscan.Members(v[i:], func(key, value []byte) bool {
			if bytes.IndexByte(key, '\\') >= 0 {
				ok = false
				return false
			}
			for _, n := range names {
				if bytes.Equal(n, key) {
					path, found = []string{string(key)}, true
					return false
				}
			}
			names = append(names, key)
			var sub []string
			if sub, found, ok = duplicateKeyPlain(value); found {
				path = append([]string{string(key)}, sub...)
			}
			return ok && !found
		})
		return path, found, ok
	case '[':
		ok, k := true, 0
		jsonscan.Elements(v[i:], func(value []byte) bool {
			var sub []string
			if sub, found, ok = duplicateKeyPlain(value); found {
				path = append([]string{strconv.Itoa(k)}, sub...)
			}
			k++
			return ok && !found
		})
		return path, found, ok
	}
	return nil, false, true
}

// duplicateKeyDecoded is duplicateKey through encoding/json's tokens,
// which unescape the names.
func duplicateKeyDecoded(data []byte) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var path []string
	found := false
	var walk func() bool // false once found or on a decoding error
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return false
				}
				key, _ := t.(string)
				path = append(path, key)
				if seen[key] {
					found = true
					return false
				}
				seen[key] = true
				if !walk() {
					return false
				}
				path = path[:len(path)-1]
			}
			_, err = dec.Token()
			return err == nil
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				path = append(path, strconv.Itoa(i))
				if !walk() {
					return false
				}
				path = path[:len(path)-1]
			}
			_, err = dec.Token()
			return err == nil
		}
		return true
	}
	walk()
	return path, found
}
