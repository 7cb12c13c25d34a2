package citizenapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"lifesituations/adapters/citizenapi"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
)

// openAPIFile is the public API's OpenAPI document, from this package's
// directory.
var openAPIFile = filepath.Join("..", "..", "docs", "openapi.yaml")

// citizenPrefix is the part of the document this package serves.
const citizenPrefix = "/v1/me/"

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

type node = map[string]any

// openAPI is the parsed document.
type openAPI struct{ root node }

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	var root node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("parse %s: %v", openAPIFile, err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("%s: openapi %q, want 3.1.x", openAPIFile, v)
	}
	return openAPI{root: root}
}

func (d openAPI) paths(t *testing.T) node {
	t.Helper()
	paths, ok := d.root["paths"].(node)
	if !ok {
		t.Fatalf("%s has no paths", openAPIFile)
	}
	return paths
}

// operation is the document's operation for method and path, nil when it
// has none.
func (d openAPI) operation(t *testing.T, method, path string) node {
	t.Helper()
	item, _ := d.paths(t)[path].(node)
	op, _ := item[strings.ToLower(method)].(node)
	return op
}

// resolve follows a local $ref ("#/components/schemas/Draft") to what it
// names; a node without one is returned as it is.
func (d openAPI) resolve(n node) (node, string, error) {
	for range 10 {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n, "", nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("$ref %q is not local", ref)
		}
		var cur any = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			m, ok := cur.(node)
			if !ok {
				return nil, "", fmt.Errorf("$ref %q: no %q", ref, part)
			}
			cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		target, ok := cur.(node)
		if !ok {
			return nil, "", fmt.Errorf("$ref %q names nothing", ref)
		}
		if _, more := target["$ref"]; !more {
			return target, ref[strings.LastIndex(ref, "/")+1:], nil
		}
		n = target
	}
	return nil, "", fmt.Errorf("$ref loop at %v", n["$ref"])
}

// pathParams lists the names of the path parameters the document declares
// for an operation, on its path item or on the operation.
func (d openAPI) pathParams(t *testing.T, path string, op node) []string {
	t.Helper()
	item, _ := d.paths(t)[path].(node)
	var names []string
	for _, list := range []any{item["parameters"], op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pn, _ := p.(node)
			pn, _, err := d.resolve(pn)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if pn["in"] == "path" && pn["required"] == true {
				names = append(names, fmt.Sprint(pn["name"]))
			}
		}
	}
	return names
}

// TestOpenAPIListsEveryCitizenRoute keeps docs/openapi.yaml and the routes
// in step, both ways: every route served is documented with its method,
// path parameters and bearer security, and every /v1/me operation
// documented is served.
func TestOpenAPIListsEveryCitizenRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, rt := range citizenapi.New(nil, nil, nil).Routes() {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q is not METHOD /path", rt.Pattern)
			continue
		}
		served[strings.ToUpper(method)+" "+path] = true
		op := doc.operation(t, method, path)
		if op == nil {
			t.Errorf("%s is served but %s does not document it", rt.Pattern, openAPIFile)
			continue
		}
		var want []string
		for seg := range strings.SplitSeq(path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				want = append(want, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
			}
		}
		got := doc.pathParams(t, path, op)
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the document declares the path parameters %v, want %v", rt.Pattern, got, want)
		}
		if !bearerSecured(op) {
			t.Errorf("%s: the document does not require the bearer security scheme", rt.Pattern)
		}
		responses, _ := op["responses"].(node)
		for _, code := range []string{"200", "401", "403"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s: the document lists no %s answer", rt.Pattern, code)
			}
		}
	}
	if len(served) == 0 {
		t.Fatal("the citizen API serves no route")
	}

	var documented []string
	for path, item := range doc.paths(t) {
		if !strings.HasPrefix(path, citizenPrefix) && path != strings.TrimSuffix(citizenPrefix, "/") {
			continue
		}
		ops, _ := item.(node)
		for _, m := range httpMethods {
			if _, ok := ops[m]; ok {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(documented)
	for _, op := range documented {
		if !served[op] {
			t.Errorf("%s documents %s, which the citizen API does not serve", openAPIFile, op)
		}
	}
}

func bearerSecured(op node) bool {
	reqs, _ := op["security"].([]any)
	for _, r := range reqs {
		if m, ok := r.(node); ok {
			if _, ok := m["bearer"]; ok {
				return true
			}
		}
	}
	return false
}

// TestOpenAPIDescribesTheAnswers checks the answers of every citizen route
// against the document's schemas: every field written is documented with
// its type, every required field is written, and every field the document
// lists for the citizen's objects shows up in some answer.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	f := newFixture(t)
	v := &schemaCheck{doc: doc, seen: map[string]map[string]bool{}}
	check := func(method, path, template string, r reply, status int) {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
		}
		op := doc.operation(t, method, template)
		if op == nil {
			t.Fatalf("%s %s is not documented", method, template)
		}
		responses, _ := op["responses"].(node)
		resp, _ := responses[fmt.Sprint(status)].(node)
		if resp == nil {
			t.Errorf("%s %s: answered %d, which the document does not list", method, template, status)
			return
		}
		resp, _, err := doc.resolve(resp)
		if err != nil {
			t.Fatal(err)
		}
		content, _ := resp["content"].(node)
		media, _ := content[strings.TrimSpace(strings.Split(r.ctype, ";")[0])].(node)
		if media == nil {
			t.Errorf("%s %s: answered %d as %s, which the document does not list", method, template, status, r.ctype)
			return
		}
		schema, _ := media["schema"].(node)
		var body any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
		for _, e := range v.check(fmt.Sprintf("%s %s %d", method, path, status), schema, body) {
			t.Error(e)
		}
	}

	b := f.openBirth("openapi")
	f.later()
	draft := "/v1/me/drafts/" + b.allowance.String()
	check("POST", draft+"/confirm", "/v1/me/drafts/{id}/confirm",
		f.post(draft+"/confirm", mother, `{"fields":{"bank_account":"40817810000000000002"}}`), http.StatusOK)
	// The agency grants the application: the draft gets its grant_id and
	// the grant its draft_id.
	cmds := &commands{store: f.store, clock: f.clock}
	pos, err := cmds.execute(t.Context(), b.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.AgencyDecide(b.allowance, catalogue.OutcomeGranted, nil, now)
	})
	if err != nil {
		t.Fatalf("agency decision: %v", err)
	}
	if err := f.cab.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	f.later()
	residence := "/v1/me/drafts/" + b.residence.String()
	check("POST", residence+"/decline", "/v1/me/drafts/{id}/decline",
		f.post(residence+"/decline", mother, `{"reason":"we live elsewhere"}`), http.StatusOK)
	f.later()
	queue := "/v1/me/grants/" + b.queue.String() + "/withdraw"
	check("POST", queue, "/v1/me/grants/{id}/withdraw", f.post(queue, mother, ""), http.StatusOK)
	rating := "/v1/me/situations/" + b.id.String() + "/rating"
	check("POST", rating, "/v1/me/situations/{id}/rating", f.post(rating, mother, `{"score":4,"comment":"quick"}`), http.StatusOK)

	for _, path := range []string{"/v1/me/drafts", "/v1/me/grants", "/v1/me/situations", "/v1/me/notifications"} {
		check("GET", path, path, f.get(path, mother), http.StatusOK)
	}
	check("GET", draft, "/v1/me/drafts/{id}", f.get(draft, mother), http.StatusOK)

	// Problems: someone else's draft, a refused correction, a conflict, a
	// bad rating, another role.
	check("GET", draft, "/v1/me/drafts/{id}", f.get(draft, stranger), http.StatusNotFound)
	check("GET", "/v1/me/drafts/"+uuid.NewString(), "/v1/me/drafts/{id}", f.get("/v1/me/drafts/"+uuid.NewString(), mother), http.StatusNotFound)
	check("POST", residence+"/confirm", "/v1/me/drafts/{id}/confirm", f.post(residence+"/confirm", mother, ""), http.StatusConflict)
	check("POST", rating, "/v1/me/situations/{id}/rating", f.post(rating, mother, `{"score":9}`), http.StatusBadRequest)
	check("POST", rating, "/v1/me/situations/{id}/rating", f.post(rating, mother, `{"stars":3}`), http.StatusBadRequest)
	b2 := f.openBirth("openapi-2")
	draft2 := "/v1/me/drafts/" + b2.residence.String() + "/confirm"
	check("POST", draft2, "/v1/me/drafts/{id}/confirm", f.post(draft2, mother, `{"fields":{"family_name":"X"}}`), http.StatusBadRequest)
	check("POST", draft2, "/v1/me/drafts/{id}/confirm", f.post(draft2, mother, strings.Repeat(" ", 65<<10)), http.StatusRequestEntityTooLarge)
	// A newer place in the queue replaces b2's (the mother moved region).
	pos, err = cmds.execute(t.Context(), b2.id, func(st *situation.State, now time.Time) ([]situation.Record, error) {
		return st.SupersedeGrant(b2.queue, situation.GrantRef{Situation: b.id, Grant: b.queue}, catalogue.Text{RU: "переезд", EN: "moved"}, "system", now)
	})
	if err != nil {
		t.Fatalf("supersede: %v", err)
	}
	if err := f.cab.WaitFor(t.Context(), pos); err != nil {
		t.Fatal(err)
	}
	check("GET", "/v1/me/grants", "/v1/me/grants", f.get("/v1/me/grants", mother), http.StatusOK)
	req, err := http.NewRequest(http.MethodGet, f.server.URL+"/v1/me/grants", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Subject", mother)
	req.Header.Set("X-Role", "agency")
	check("GET", "/v1/me/grants", "/v1/me/grants", send(t, req), http.StatusForbidden)

	// Every documented field of the citizen's objects is written somewhere.
	for _, name := range []string{"Draft", "Grant", "Situation", "Step", "Rating", "Notification", "Reason", "Curator", "Text", "Problem"} {
		schema, _, err := doc.resolve(node{"$ref": "#/components/schemas/" + name})
		if err != nil {
			t.Fatal(err)
		}
		props, _ := schema["properties"].(node)
		for prop := range props {
			if !v.seen[name][prop] {
				t.Errorf("the document lists %s.%s, but no answer had it", name, prop)
			}
		}
	}
}

func send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: raw}
}

// schemaCheck checks JSON values against the subset of JSON Schema the
// document uses ($ref, type, enum, const, format, required, properties,
// items, minimum, maximum, maxLength). An object schema that lists
// properties allows no others: the document must name every field. It
// records, by schema name, which properties it met.
type schemaCheck struct {
	doc  openAPI
	seen map[string]map[string]bool
}

func (c *schemaCheck) check(at string, schema node, val any) []string {
	schema, name, err := c.doc.resolve(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	if schema == nil {
		return []string{at + ": no schema"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }

	if types := schemaTypes(schema["type"]); len(types) > 0 && !slices.Contains(types, jsonType(val)) &&
		!(jsonType(val) == "integer" && slices.Contains(types, "number")) {
		fail("%s %v, want type %v", jsonType(val), val, types)
		return errs
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(val) }) {
		fail("%v is not one of %v", val, enum)
	}
	if cst, ok := schema["const"]; ok && fmt.Sprint(cst) != fmt.Sprint(val) {
		fail("%v, want %v", val, cst)
	}
	switch x := val.(type) {
	case string:
		if err := checkFormat(fmt.Sprint(schema["format"]), x); err != nil {
			fail("%q: %v", x, err)
		}
		if n, ok := schema["maxLength"].(int); ok && len([]rune(x)) > n {
			fail("%d characters, at most %d", len([]rune(x)), n)
		}
	case float64:
		if m, ok := schema["minimum"].(int); ok && x < float64(m) {
			fail("%v < minimum %d", x, m)
		}
		if m, ok := schema["maximum"].(int); ok && x > float64(m) {
			fail("%v > maximum %d", x, m)
		}
	case []any:
		if items, ok := schema["items"].(node); ok {
			for i, it := range x {
				errs = append(errs, c.check(fmt.Sprintf("%s/%d", at, i), items, it)...)
			}
		}
	case map[string]any:
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := x[fmt.Sprint(r)]; !ok {
				fail("required field %q is missing", r)
			}
		}
		props, ok := schema["properties"].(node)
		if !ok {
			break // a free-form object (prefill, details, fields)
		}
		if name != "" && c.seen[name] == nil {
			c.seen[name] = map[string]bool{}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(node)
			if !ok {
				fail("field %q is not documented", k)
				continue
			}
			if name != "" {
				c.seen[name][k] = true
			}
			errs = append(errs, c.check(at+"/"+k, ps, x[k])...)
		}
	}
	return errs
}

func schemaTypes(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = fmt.Sprint(s)
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func checkFormat(format, s string) error {
	var err error
	switch format {
	case "uuid":
		_, err = uuid.Parse(s)
	case "date":
		_, err = time.Parse(time.DateOnly, s)
	case "date-time":
		_, err = time.Parse(time.RFC3339Nano, s)
	}
	return err
}
