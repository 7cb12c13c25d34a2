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
	f, err := Find(eventType, data)
	if err != nil {
		return nil, err
	}
	return f.Rewrite(rewrite)
}

// Owners lists the owners of the personal values present in a payload,
// each once.
func Owners(eventType string, data []byte) ([]string, error) {
	f, err := Find(eventType, data)
	return f.Owners(), err
}

// Found is the personal values of a payload, found in one pass: their
// owners, whose keys must be ready before anything is sealed, then their
// places, rewritten without searching the payload again (a store that
// seals on append walked it twice, 8% of a burst's CPU).
type Found struct {
	eventType string
	data      []byte
	places    []place
	owners    []string // each once, in the order their values come
	arena     []member // the members of the payload's decoded objects
	root      *object
}

// place is one personal value: member i of obj.
type place struct {
	obj   *object
	i     int
	owner string
	path  string // the field's path, for errors
}

// Find finds the personal values of a payload of the event type, in the
// order Transform passes them to its rewrite. A type with no personal field
// is not decoded.
func Find(eventType string, data []byte) (Found, error) {
	f := Found{eventType: eventType, data: data}
	fields := Fields(eventType)
	if len(fields) == 0 {
		return f, nil
	}
	f.arena = make([]member, 0, 32)
	root, err := decodeAt(data, 0, len(data), nil, &f.arena)
	if err == nil {
		f.root = root
		err = f.find(root, fields)
	}
	if err != nil {
		return Found{}, fmt.Errorf("personal fields of %s: %w", eventType, err)
	}
	return f, nil
}

// Owners lists the owners of the values found, each once.
func (f *Found) Owners() []string { return f.owners }

// Rewrite applies rewrite to every value found, in order, and returns the
// payload with the values it changed, or the payload itself when it
// changed none. A Found is rewritten once.
func (f *Found) Rewrite(rewrite Rewrite) ([]byte, error) {
	changed := false
	for _, p := range f.places {
		v := p.obj.val(p.i) // as a value found twice (a duplicated key) was rewritten
		nv, err := rewrite(p.owner, v)
		if err != nil {
			return nil, fmt.Errorf("personal fields of %s: %s of %s: %w", f.eventType, p.path, p.owner, err)
		}
		if bytes.Equal(nv, v) {
			continue
		}
		p.obj.replace(p.i, nv)
		changed = true
	}
	if !changed {
		return f.data, nil
	}
	if out, ok := f.splice(); ok {
		return out, nil
	}
	return f.root.encode()
}

// edit is a value replaced, at data[start:end].
type edit struct {
	start, end int
	val        json.RawMessage
}

// splice returns the payload with the replaced values written in place of
// the old ones: what encoding the objects on their paths again gives when
// each of those objects is verbatim (compact, keys needing no escape),
// which a payload the application encoded always is. ok is false for any
// other payload, to be encoded again.
func (f *Found) splice() ([]byte, bool) {
	var buf [16]edit
	edits := buf[:0]
	size := len(f.data)
	for _, p := range f.places {
		m := &p.obj.members[p.i]
		if !m.hasReplaced {
			continue
		}
		if !verbatimUp(p.obj) {
			return nil, false
		}
		e := edit{start: m.valStart, end: m.valEnd, val: p.obj.replacedVal(p.i)}
		k := len(edits)
		for k > 0 && edits[k-1].start > e.start { // few edits, mostly in order
			k--
		}
		if k > 0 && edits[k-1].start == e.start {
			continue // a value found twice
		}
		if (k > 0 && edits[k-1].end > e.start) || (k < len(edits) && e.end > edits[k].start) {
			return nil, false // one value inside another
		}
		edits = append(edits, edit{})
		copy(edits[k+1:], edits[k:])
		edits[k] = e
		size += len(e.val) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	from := 0
	for _, e := range edits {
		out = append(out, f.data[from:e.start]...)
		out = append(out, e.val...)
		from = e.end
	}
	return append(out, f.data[from:]...), true
}

// verbatimUp: o and every object holding it are verbatim.
func verbatimUp(o *object) bool {
	for ; o != nil; o = o.parent {
		if !o.verbatim {
			return false
		}
	}
	return true
}

// find records the values of the fields under obj, the root of a payload
// (or of one embedded in it).
func (f *Found) find(obj *object, fields []Field) error {
	for i := range fields {
		field := &fields[i]
		var err error
		if field.Embedded != "" {
			err = f.embedded(obj, field)
		} else {
			w := &walker{f: f, root: obj, field: field}
			err = w.walk(obj, field.Path, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// embedded records the values of the payload at field.Path, of the type
// named at field.Embedded.
func (f *Found) embedded(root *object, field *Field) error {
	typ, ok := f.stringAt(root, field.Embedded)
	if !ok {
		return nil
	}
	fields := Fields(typ)
	if len(fields) == 0 {
		return nil
	}
	obj, path := root, field.Path
	for {
		seg, rest, more := strings.Cut(path, ".")
		i := obj.index(seg)
		if i < 0 || !isObject(obj.val(i)) {
			return nil
		}
		sub, err := obj.sub(i, &f.arena)
		if err != nil {
			return err
		}
		if !more {
			return f.find(sub, fields)
		}
		obj, path = sub, rest
	}
}

// ownerNamed returns the owner whose id is a key of the payload as the one
// string kept for them, adding them to the owners when new.
func (f *Found) ownerNamed(id []byte) string {
	for _, o := range f.owners {
		if string(id) == o {
			return o
		}
	}
	return f.addOwner(string(id))
}

// addOwner adds an owner when new.
func (f *Found) addOwner(owner string) string {
	for _, o := range f.owners {
		if owner == o {
			return o
		}
	}
	f.owners = append(f.owners, owner)
	return owner
}

type walker struct {
	f     *Found
	root  *object
	field *Field
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
		o, ok := w.f.stringAt(w.root, w.field.Owner)
		if !ok || o == "" {
			w.ownerErr = fmt.Errorf("%s: no owner at %s", w.field.Path, w.field.Owner)
		}
		w.owner = o
	}
	return w.owner, w.ownerErr
}

// walk records the values under obj matching path; wild is the key the
// path's "*" matched so far. A duplicated key reads as its first member,
// as encoding again would keep it.
func (w *walker) walk(obj *object, path string, wild []byte) error {
	seg, rest, more := strings.Cut(path, ".")
	switch seg {
	case "*":
		for i := range obj.members {
			if err := w.visit(obj, obj.first(i), rest, more, obj.keyBytes(i)); err != nil {
				return err
			}
		}
	case "~":
		for i := range obj.members {
			if personalKey(obj.keyBytes(i)) {
				if err := w.visit(obj, obj.first(i), rest, more, wild); err != nil {
					return err
				}
			}
		}
	default:
		if i := obj.index(seg); i >= 0 {
			return w.visit(obj, i, rest, more, wild)
		}
	}
	return nil
}

// visit records member i of obj when the path ends there, or walks on
// into it.
func (w *walker) visit(obj *object, i int, rest string, more bool, wild []byte) error {
	v := obj.val(i)
	if more {
		if !isObject(v) {
			return nil
		}
		sub, err := obj.sub(i, &w.f.arena)
		if err != nil {
			return fmt.Errorf("%s: %w", w.field.Path, err)
		}
		return w.walk(sub, rest, wild)
	}
	if isEmpty(v) {
		return nil
	}
	var owner string
	if w.field.Owner == "*" {
		if len(wild) == 0 {
			return fmt.Errorf("%s: empty owner", w.field.Path)
		}
		owner = w.f.ownerNamed(wild)
	} else {
		o, err := w.fixedOwner()
		if err != nil {
			return err
		}
		owner = w.f.addOwner(o)
	}
	w.f.places = append(w.f.places, place{obj: obj, i: i, owner: owner, path: w.field.Path})
	return nil
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

// stringAt reads the string at path (keys separated by dots) from root,
// decoding the objects on the way once for the whole payload.
func (f *Found) stringAt(root *object, path string) (string, bool) {
	obj := root
	for {
		seg, rest, more := strings.Cut(path, ".")
		i := obj.index(seg)
		if i < 0 {
			return "", false
		}
		if !more {
			return stringValue(obj.val(i))
		}
		if !isObject(obj.val(i)) {
			return "", false
		}
		sub, err := obj.sub(i, &f.arena)
		if err != nil {
			return "", false
		}
		obj, path = sub, rest
	}
}

// stringValue decodes a JSON string as encoding/json does; one of
// printable ASCII without escapes (an id) is its bytes.
func stringValue(v []byte) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && plainKey(v[1:len(v)-1]) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// markerJSON is Marker encoded.
var markerJSON, _ = json.Marshal(Marker)

// EraseOwned replaces every personal value of person in a payload with the
// marker: what a read model does when it learns of an erasure, so that it
// shows what a rebuild from the log would.
func EraseOwned(eventType string, data []byte, person string) ([]byte, error) {
	return Transform(eventType, data, func(owner string, v json.RawMessage) (json.RawMessage, error) {
		if owner != person {
			return v, nil
		}
		return markerJSON, nil
	})
}
