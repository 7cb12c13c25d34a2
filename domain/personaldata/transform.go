package personaldata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Rewrite is called for each personal value present in a payload, with the
// id of its owner; it returns the value to store in its place (the same
// bytes to keep it).
type Rewrite func(owner string, value json.RawMessage) (json.RawMessage, error)

// Transform applies rewrite to every personal value of a payload of the
// event type. It returns data itself, undecoded, for a type with no personal
// field, and data itself when rewrite changed nothing. Only the objects on
// the path of a changed value are encoded again (compactly, members in
// their order); every other value keeps its bytes. Empty strings and nulls are not
// personal data and are never passed to rewrite: a rule testing for an
// empty value decides the same after erasure.
func Transform(eventType string, data []byte, rewrite Rewrite) ([]byte, error) {
	fields := Fields(eventType)
	if len(fields) == 0 {
		return data, nil
	}
	out, changed, err := transform(fields, data, rewrite)
	if err != nil {
		return nil, fmt.Errorf("personal fields of %s: %w", eventType, err)
	}
	if !changed {
		return data, nil
	}
	return out, nil
}

// Owners lists the owners of the personal values present in a payload,
// each once.
func Owners(eventType string, data []byte) ([]string, error) {
	var owners []string
	_, err := Transform(eventType, data, func(owner string, v json.RawMessage) (json.RawMessage, error) {
		for _, o := range owners {
			if o == owner {
				return v, nil
			}
		}
		owners = append(owners, owner)
		return v, nil
	})
	return owners, err
}

func transform(fields []Field, data []byte, rewrite Rewrite) ([]byte, bool, error) {
	root, err := decodeObject(data)
	if err != nil {
		return nil, false, err
	}
	changed := false
	for _, f := range fields {
		path := strings.Split(f.Path, ".")
		var ch bool
		if f.Embedded != "" {
			ch, err = embedded(root, path, f.Embedded, rewrite)
		} else {
			w := &walker{root: root, field: f, rewrite: rewrite}
			ch, err = w.walk(root, path, "")
		}
		if err != nil {
			return nil, false, err
		}
		changed = changed || ch
	}
	if !changed {
		return data, false, nil
	}
	out, err := root.encode()
	return out, true, err
}

// embedded rewrites the payload at path, of the type named at typePath.
func embedded(root *object, path []string, typePath string, rewrite Rewrite) (bool, error) {
	typ, ok := stringAt(root, strings.Split(typePath, "."))
	if !ok {
		return false, nil
	}
	fields := Fields(typ)
	if len(fields) == 0 {
		return false, nil
	}
	return rewriteAt(root, path, func(sub json.RawMessage) (json.RawMessage, bool, error) {
		if !isObject(sub) {
			return nil, false, nil
		}
		return transform(fields, sub, rewrite)
	})
}

// rewriteAt replaces the value at path with what f makes of it, encoding
// again the objects on the way when it changed.
func rewriteAt(obj *object, path []string, f func(json.RawMessage) (json.RawMessage, bool, error)) (bool, error) {
	v, ok := obj.get(path[0])
	if !ok {
		return false, nil
	}
	var (
		nv      json.RawMessage
		changed bool
		err     error
	)
	if len(path) == 1 {
		nv, changed, err = f(v)
	} else {
		if !isObject(v) {
			return false, nil
		}
		sub, derr := decodeObject(v)
		if derr != nil {
			return false, derr
		}
		if changed, err = rewriteAt(sub, path[1:], f); changed && err == nil {
			nv, err = sub.encode()
		}
	}
	if err != nil || !changed {
		return false, err
	}
	obj.set(path[0], nv)
	return true, nil
}

type walker struct {
	root    *object
	field   Field
	rewrite Rewrite
	// owner is the field's owner read from the root once, for a field
	// whose owner is a path (not the key "*" matched).
	owner    string
	ownerErr error
	resolved bool
}

// fixedOwner reads the field's owner path from the root, once.
func (w *walker) fixedOwner() (string, error) {
	if !w.resolved {
		w.resolved = true
		o, ok := stringAt(w.root, strings.Split(w.field.Owner, "."))
		if !ok || o == "" {
			w.ownerErr = fmt.Errorf("%s: no owner at %s", w.field.Path, w.field.Owner)
		}
		w.owner = o
	}
	return w.owner, w.ownerErr
}

// walk rewrites the values under obj matching path; wild is the key the
// path's "*" matched so far.
func (w *walker) walk(obj *object, path []string, wild string) (bool, error) {
	seg, rest := path[0], path[1:]
	var keys []string
	switch seg {
	case "*":
		keys = obj.keys()
	case "~":
		for _, k := range obj.keys() {
			if PersonalKey(k) {
				keys = append(keys, k)
			}
		}
	default:
		if _, ok := obj.get(seg); ok {
			keys = []string{seg}
		}
	}
	changed := false
	for _, k := range keys {
		v, _ := obj.get(k)
		wk := wild
		if seg == "*" {
			wk = k
		}
		if len(rest) == 0 {
			if isEmpty(v) {
				continue
			}
			owner := wk
			if w.field.Owner != "*" {
				o, err := w.fixedOwner()
				if err != nil {
					return false, err
				}
				owner = o
			}
			if owner == "" {
				return false, fmt.Errorf("%s: empty owner", w.field.Path)
			}
			nv, err := w.rewrite(owner, v)
			if err != nil {
				return false, fmt.Errorf("%s of %s: %w", w.field.Path, owner, err)
			}
			if !bytes.Equal(nv, v) {
				obj.set(k, nv)
				changed = true
			}
			continue
		}
		if !isObject(v) {
			continue
		}
		sub, err := decodeObject(v)
		if err != nil {
			return false, fmt.Errorf("%s: %w", w.field.Path, err)
		}
		ch, err := w.walk(sub, rest, wk)
		if err != nil {
			return false, err
		}
		if ch {
			enc, err := sub.encode()
			if err != nil {
				return false, err
			}
			obj.set(k, enc)
			changed = true
		}
	}
	return changed, nil
}

// isEmpty: absent, null or "" carry no personal data.
func isEmpty(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null" || string(v) == `""`
}

func isObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{'
}

// stringAt reads the string at path from root.
func stringAt(root *object, path []string) (string, bool) {
	obj := root
	for i, seg := range path {
		v, ok := obj.get(seg)
		if !ok {
			return "", false
		}
		if i == len(path)-1 {
			var s string
			if json.Unmarshal(v, &s) != nil {
				return "", false
			}
			return s, true
		}
		if !isObject(v) {
			return "", false
		}
		sub, err := decodeObject(v)
		if err != nil {
			return "", false
		}
		obj = sub
	}
	return "", false
}

// EraseOwned replaces every personal value of person in a payload with the
// marker: what a read model does when it learns of an erasure, so that it
// shows what a rebuild from the log would.
func EraseOwned(eventType string, data []byte, person string) ([]byte, error) {
	marker, _ := json.Marshal(Marker)
	return Transform(eventType, data, func(owner string, v json.RawMessage) (json.RawMessage, error) {
		if owner != person {
			return v, nil
		}
		return marker, nil
	})
}
