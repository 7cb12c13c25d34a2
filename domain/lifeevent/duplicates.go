package lifeevent

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// duplicateKey finds the first member name repeated within one object of
// data, at any depth, and returns the path to it (keys and array indexes).
// Such a payload reads differently to different parsers (encoding/json
// keeps the last value, the personal-data sealer the first), so a repeated
// personal field could be stored in clear beside its sealed twin: ingest
// refuses it. data must be valid JSON.
func duplicateKey(data []byte) ([]string, bool) {
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
