package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"lifesituations/adapters/auth"
	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/adapters/ingest"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/lifeevent"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/register"
)

// casesFormat is the format of the curators' test cases: the --help of
// `catalogue test` and a section of docs/catalogue.md.
const casesFormat = `A case file is YAML under the catalogue's tests/ directory (the loader
never reads that directory as rules). It holds a list of cases, each run
on a fresh, empty orchestrator: the real ingest, register, sagas, timers,
calendar and cabinet, in-process, on a manual clock.

    persons:                  # optional: persons shared by every case of the file
      mother: {birth_date: 1994-03-01}
    cases:
      - name: a first child born to a citizen mother
        date: 2026-03-10      # the clock when the case starts
        persons:              # registered first (person.registered), in this order
          father: {birth_date: 1990-01-01, sex: M}
        events:               # then sent, in order, as registries would
          - type: income.reported
            data: {person_id: mother, year: 2025, annual_income_rub: 120000}
          - type: birth.registered
            data: {child_id: son, mother_id: mother, father_id: father, birth_date: 2026-03-05}
        then:                 # optional: steps, in order
          - confirm: {person: mother, service: child-health-insurance, fields: {insurer: СОГАЗ-Мед}}
          - date: 2026-03-12  # move the clock; due birthdays, reminders, expiries and
                              # agency decisions (24 h after a confirmation) happen
          - expect: {...}     # a check in the middle, same form as below
        expect:               # checked at the end
          mother:
            situations:
              - kind: birth-of-child
                partial: true         # other steps may be there too
                steps:
                  - {service: birth-certificate, outcome: granted}
                  - {service: child-allowance, outcome: drafted, reasons: []}
                  - {service: child-health-insurance, outcome: granted}
                  # a refusal: {service: maternity-capital, outcome: rejected,
                  #             reasons: ["not a citizen"]}
            grants:
              - {service: maternity-capital, details: {amount: 728921.90}}

Persons are named by handles (mother, son...): wherever an event names a
person (a data field ending in _id or _ids, the keys of new_family_names,
the subject) a handle stands for a fixed id; a UUID is used as it is.
Reports show handles, never ids.

date, then[].date: YYYY-MM-DD is noon, Moscow time, that day; an RFC 3339
instant (2026-03-11T17:00:00Z) is exact. The clock only moves forward.

persons.HANDLE: a person.registered with these fields, each optional:
    family_name (Иванова, or Иванов for sex M), given_name (the handle),
    birth_date (1990-01-01), sex (F), citizenship (RU), region (RU-MOW),
    time_zone (Europe/Moscow), address (a street in the region)

events[]: {type, data, source?, id?, subject?, time?}
    source   the registry owning the type (urn:registry:civil-status...)
    id       case-event-N; reuse an id to resend an event
    subject  data.person_id, else data.child_id, else data.spouse_ids[0]
    time     the clock
    data     the contract's fields; omitted ones get defaults:
      person.registered    as persons above
      birth.registered     record_number; the child's family name, region,
                           time_zone and address are the mother's;
                           child_given_name the handle; sex M; birth_date today
      residence.changed    from_region, to_region and time_zone: the person's
                           current ones; address in to_region; effective_date today
      marriage.registered  record_number; date today
      death.registered     record_number; date_of_death today; region the person's
      income.reported      none
    "today" is the clock's date in the person's time zone. An event the
    orchestrator refuses (400) fails the case with the reason.

then[]: each step does what it holds, in this order:
    date: ...                       move the clock forward
    events: [...]                   send more events
    confirm: {person, service, beneficiary?, fields?}
                                    the person confirms their open draft of
                                    the service (POST /v1/me/drafts/ID/confirm)
    decline: {person, service, beneficiary?, reason?}
    withdraw: {person, service, beneficiary?}
                                    opt out of an active grant
    expect: {...}                   check now; the case goes on either way

expect: HANDLE -> what that person sees in their cabinet:
    situations: [{kind, count?, status?, partial?, steps?}]   status: open, completed
        The situations of a kind listed must be exactly those listed, oldest
        first; {kind: K, count: N} says N situations of kind K, each like the
        entry (count: 0: none). Kinds not listed are not checked.
        steps: every step the person sees must be listed (order does not
        matter; with partial: true others may exist; steps: [] means none;
        without steps they are not checked). A step:
          {service, outcome?, applicant?, beneficiary?, deadline?, reasons?}
          outcome   granted drafted submitted notified rejected declined
                    expired withdrawn
          reasons   each text must occur in a reason's Russian or English
                    text or legal basis; reasons: [] means none
    drafts: [{service, status?, applicant?, beneficiary?, deadline?, prefill?, count?}]
        status: open, confirmed, declined, expired, withdrawn
    grants: [{service, status?, applicant?, beneficiary?, registry?, details?, count?}]
        status: active, withdrawn
        Each entry must match a draft (grant) of the person; prefill and
        details list some fields and their values (handles for person ids).
        With count, exactly that many drafts (grants) match (0: none).
    notifications: [{kind?, service?, outcome?, count?}]
        kind outcome or reminder; without count, at least one.`

const catalogueTestSummary = `Runs the curators' test cases of the catalogue in DIR (as serve --catalogue DIR
would load it): every *.yaml file under DIR/tests (or --cases), each case on a
fresh in-process orchestrator. Prints ok or FAIL per case with what was
expected and what came out; exits non-zero if a case fails.

` + casesFormat

// caseNS derives the fixed ids of persons named by handles.
var caseNS = uuid.MustParse("3f1c5a9e-6b2d-5e8f-a0c4-9d7e2b1f6a35")

// agency decisions come this long after a confirmation, as with serve's default.
const caseAgencyDelay = 24 * time.Hour

// --- the format ------------------------------------------------------------

type caseFile struct {
	Persons personList  `yaml:"persons"`
	Date    string      `yaml:"date"`
	Cases   []*testCase `yaml:"cases"`
}

type testCase struct {
	Name    string       `yaml:"name"`
	Date    string       `yaml:"date"`
	Persons personList   `yaml:"persons"`
	Events  []eventSpec  `yaml:"events"`
	Then    []thenStep   `yaml:"then"`
	Expect  expectations `yaml:"expect"`

	file string // relative to the cases directory
	line int
}

// title names the case in reports: file: name.
func (c *testCase) title() string { return c.file + ": " + c.Name }

type personSpec struct {
	FamilyName  string `yaml:"family_name"`
	GivenName   string `yaml:"given_name"`
	BirthDate   string `yaml:"birth_date"`
	Sex         string `yaml:"sex"`
	Citizenship string `yaml:"citizenship"`
	Region      string `yaml:"region"`
	TimeZone    string `yaml:"time_zone"`
	Address     string `yaml:"address"`
}

type namedPerson struct {
	handle string
	spec   personSpec
}

// personList keeps the persons in written order.
type personList []namedPerson

func (l *personList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: persons must be a mapping of handles to facts", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var p personSpec
		if err := n.Content[i+1].Decode(&p); err != nil {
			return err
		}
		*l = append(*l, namedPerson{handle: n.Content[i].Value, spec: p})
	}
	return nil
}

type eventSpec struct {
	Type    string  `yaml:"type"`
	Source  string  `yaml:"source"`
	ID      string  `yaml:"id"`
	Subject string  `yaml:"subject"`
	Time    string  `yaml:"time"`
	Data    yamlMap `yaml:"data"`
}

type thenStep struct {
	Date     string       `yaml:"date"`
	Events   []eventSpec  `yaml:"events"`
	Confirm  *commandSpec `yaml:"confirm"`
	Decline  *commandSpec `yaml:"decline"`
	Withdraw *commandSpec `yaml:"withdraw"`
	Expect   expectations `yaml:"expect"`
}

type commandSpec struct {
	Person      string  `yaml:"person"`
	Service     string  `yaml:"service"`
	Beneficiary string  `yaml:"beneficiary"`
	Fields      yamlMap `yaml:"fields"`
	Reason      string  `yaml:"reason"`
}

type personExpect struct {
	Situations    []situationExpect    `yaml:"situations"`
	Drafts        []draftExpect        `yaml:"drafts"`
	Grants        []grantExpect        `yaml:"grants"`
	Notifications []notificationExpect `yaml:"notifications"`
}

type namedExpect struct {
	handle string
	want   personExpect
}

// expectations keeps the persons in written order.
type expectations []namedExpect

func (e *expectations) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expect must be a mapping of person handles to what they see", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var p personExpect
		if err := n.Content[i+1].Decode(&p); err != nil {
			return err
		}
		*e = append(*e, namedExpect{handle: n.Content[i].Value, want: p})
	}
	return nil
}

type situationExpect struct {
	Kind    string        `yaml:"kind"`
	Count   *int          `yaml:"count"`
	Status  string        `yaml:"status"`
	Partial bool          `yaml:"partial"`
	Steps   *[]stepExpect `yaml:"steps"`
}

type stepExpect struct {
	Service     string    `yaml:"service"`
	Outcome     string    `yaml:"outcome"`
	Applicant   string    `yaml:"applicant"`
	Beneficiary string    `yaml:"beneficiary"`
	Deadline    string    `yaml:"deadline"`
	Reasons     *[]string `yaml:"reasons"`
}

type draftExpect struct {
	Service     string  `yaml:"service"`
	Status      string  `yaml:"status"`
	Applicant   string  `yaml:"applicant"`
	Beneficiary string  `yaml:"beneficiary"`
	Deadline    string  `yaml:"deadline"`
	Prefill     yamlMap `yaml:"prefill"`
	Count       *int    `yaml:"count"`
}

type grantExpect struct {
	Service     string  `yaml:"service"`
	Status      string  `yaml:"status"`
	Applicant   string  `yaml:"applicant"`
	Beneficiary string  `yaml:"beneficiary"`
	Registry    string  `yaml:"registry"`
	Details     yamlMap `yaml:"details"`
	Count       *int    `yaml:"count"`
}

type notificationExpect struct {
	Kind    string `yaml:"kind"`
	Service string `yaml:"service"`
	Outcome string `yaml:"outcome"`
	Count   *int   `yaml:"count"`
}

// yamlMap is free-form data (an event's data, fields, prefill) with YAML
// scalars read as JSON would have them: a date stays the text written.
type yamlMap map[string]any

func (m *yamlMap) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlValue(n)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	*m = obj
	return nil
}

func yamlValue(n *yaml.Node) (any, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!timestamp", "!!str", "!!binary":
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML", n.Line)
}

// --- reading case files ------------------------------------------------------

// yamlNames names the case format's types in messages about unknown keys.
var yamlNames = map[reflect.Type]string{
	reflect.TypeFor[caseFile]():           "a case file",
	reflect.TypeFor[testCase]():           "a case",
	reflect.TypeFor[personSpec]():         "a person",
	reflect.TypeFor[eventSpec]():          "an event",
	reflect.TypeFor[thenStep]():           "a then step",
	reflect.TypeFor[commandSpec]():        "a command",
	reflect.TypeFor[personExpect]():       "a person's expectations",
	reflect.TypeFor[situationExpect]():    "a situation",
	reflect.TypeFor[stepExpect]():         "a step",
	reflect.TypeFor[draftExpect]():        "a draft",
	reflect.TypeFor[grantExpect]():        "a grant",
	reflect.TypeFor[notificationExpect](): "a notification",
}

// checkKeys reports every mapping key the case format does not know, so
// that a misspelt expectation fails instead of being ignored.
func checkKeys(n *yaml.Node, t reflect.Type, problems *[]string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[yamlMap]():
		return
	case reflect.TypeFor[personList](), reflect.TypeFor[expectations]():
		if n.Kind != yaml.MappingNode {
			return
		}
		elem := reflect.TypeFor[personSpec]()
		if t == reflect.TypeFor[expectations]() {
			elem = reflect.TypeFor[personExpect]()
		}
		for i := 1; i < len(n.Content); i += 2 {
			checkKeys(n.Content[i], elem, problems)
		}
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkKeys(c, t.Elem(), problems)
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				fields[tag] = f.Type
				names = append(names, tag)
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("line %d: unknown key %q in %s (known: %s)",
					k.Line, k.Value, yamlNames[t], strings.Join(names, ", ")))
				continue
			}
			checkKeys(n.Content[i+1], ft, problems)
		}
	}
}

// loadCases reads every *.yaml / *.yml file under dir, in lexical order.
func loadCases(dir string) ([]*testCase, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("cases: %s is not a directory", dir)
	}
	var cases []*testCase
	var problems []string
	err = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		cs, probs := parseCaseFile(p, b)
		cases = append(cases, cs...)
		problems = append(problems, probs...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cases refused:\n  %s", strings.Join(problems, "\n  "))
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("cases: no case files (*.yaml) in %s", dir)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.title()] {
			return nil, fmt.Errorf("cases: two cases named %q", c.title())
		}
		seen[c.title()] = true
	}
	return cases, nil
}

// parseCaseFile reads one case file; problems name the file and line.
func parseCaseFile(name string, b []byte) ([]*testCase, []string) {
	fail := func(format string, args ...any) []string {
		return []string{name + ": " + fmt.Sprintf(format, args...)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fail("%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fail("empty file")
	}
	doc := root.Content[0]
	var problems []string
	checkKeys(doc, reflect.TypeFor[caseFile](), &problems)
	if len(problems) > 0 {
		for i, p := range problems {
			problems[i] = name + ": " + p
		}
		return nil, problems
	}
	var f caseFile
	if err := doc.Decode(&f); err != nil {
		return nil, fail("%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var casesNode *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "cases" {
			casesNode = doc.Content[i+1]
		}
	}
	if len(f.Cases) == 0 {
		return nil, fail("no cases (a top-level `cases:` list)")
	}
	for i, c := range f.Cases {
		c.file = name
		if casesNode != nil && i < len(casesNode.Content) {
			c.line = casesNode.Content[i].Line
		}
		if c.Date == "" {
			c.Date = f.Date
		}
		c.Persons = mergePersons(f.Persons, c.Persons)
		at := fmt.Sprintf("%s:%d", name, c.line)
		if c.Name == "" {
			problems = append(problems, at+": a case needs a name")
		}
		if err := c.validate(); err != nil {
			problems = append(problems, fmt.Sprintf("%s: case %q: %v", at, c.Name, err))
		}
	}
	return f.Cases, problems
}

// mergePersons: the file's persons, replaced by the case's of the same
// handle, then the case's own.
func mergePersons(shared, own personList) personList {
	out := personList{}
	mine := map[string]bool{}
	for _, p := range own {
		mine[p.handle] = true
	}
	for _, p := range shared {
		if !mine[p.handle] {
			out = append(out, p)
		}
	}
	return append(out, own...)
}

// validate checks what the YAML decoder cannot.
func (c *testCase) validate() error {
	if c.Date == "" {
		return errors.New("no date: the clock when the case starts")
	}
	if _, err := parseWhen(c.Date); err != nil {
		return err
	}
	events := append([]eventSpec(nil), c.Events...)
	hasExpect := len(c.Expect) > 0
	for i, st := range c.Then {
		n := 0
		if st.Date != "" {
			n++
			if _, err := parseWhen(st.Date); err != nil {
				return fmt.Errorf("then %d: %w", i+1, err)
			}
		}
		for _, x := range []*commandSpec{st.Confirm, st.Decline, st.Withdraw} {
			if x != nil {
				n++
				if x.Person == "" || x.Service == "" {
					return fmt.Errorf("then %d: a command needs person and service", i+1)
				}
			}
		}
		if len(st.Events) > 0 || len(st.Expect) > 0 {
			n++
		}
		if n == 0 {
			return fmt.Errorf("then %d does nothing", i+1)
		}
		events = append(events, st.Events...)
		hasExpect = hasExpect || len(st.Expect) > 0
	}
	for i, e := range events {
		if !lifeevent.Type(e.Type).Known() {
			return fmt.Errorf("event %d: unknown type %q (one of %v)", i+1, e.Type, lifeevent.Types())
		}
		if e.Time != "" {
			if _, err := parseWhen(e.Time); err != nil {
				return fmt.Errorf("event %d: time: %w", i+1, err)
			}
		}
	}
	if !hasExpect {
		return errors.New("expects nothing: add expect")
	}
	return nil
}

var moscow = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return loc
})

// parseWhen reads a case's time: a date is noon, Moscow time.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, moscow()); err == nil {
		return t.Add(12 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (YYYY-MM-DD) nor an RFC 3339 instant", s)
}

// --- running a case ----------------------------------------------------------

// caseResult is the outcome of one case.
type caseResult struct {
	c        *testCase
	failures []string // what differs from the expectations
	err      error    // the case could not run to its end
	log      string   // warnings and errors the orchestrator logged
	elapsed  time.Duration
}

func (r caseResult) ok() bool { return r.err == nil && len(r.failures) == 0 }

// report is the result as printed: one line, then the details of a failure.
func (r caseResult) report() string {
	var b strings.Builder
	if r.ok() {
		fmt.Fprintf(&b, "ok    %s (%.2fs)\n", r.c.title(), r.elapsed.Seconds())
		return b.String()
	}
	fmt.Fprintf(&b, "FAIL  %s (%s:%d, %.2fs)\n", r.c.title(), r.c.file, r.c.line, r.elapsed.Seconds())
	for _, f := range r.failures {
		b.WriteString(indent(f, "      "))
	}
	if r.err != nil {
		b.WriteString(indent("error: "+r.err.Error(), "      "))
	}
	if r.log != "" {
		b.WriteString(indent("the orchestrator logged:\n"+r.log, "      "))
	}
	return b.String()
}

func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}

// runCases runs the cases, parallel at most at once, and calls report with
// each result in the cases' order.
func runCases(ctx context.Context, cases []*testCase, cat *catalogue.Catalogue, parallel int, report func(caseResult)) {
	if parallel < 1 {
		parallel = 1
	}
	results := make([]chan caseResult, len(cases))
	slots := make(chan struct{}, parallel)
	for i, c := range cases {
		results[i] = make(chan caseResult, 1)
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] <- runCase(ctx, c, cat)
		}()
	}
	for _, r := range results {
		report(<-r)
	}
}

// runCase runs one case on a fresh orchestrator in a temporary directory.
func runCase(ctx context.Context, c *testCase, cat *catalogue.Catalogue) (res caseResult) {
	res.c = c
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env, err := startCaseEnv(ctx, c, cat, log)
	if err != nil {
		res.err = err
		return res
	}
	defer func() {
		if err := env.stop(); err != nil && res.err == nil {
			res.err = err
		}
		res.log = logs.String()
	}()
	res.failures, res.err = env.play(c)
	return res
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// caseEnv is a running orchestrator for one case: the server's core, its
// ingest and citizen handlers, called in-process.
type caseEnv struct {
	ctx     context.Context
	cancel  context.CancelFunc
	dir     string
	clk     *clock.Manual
	store   eventstore.Store // sealed, as the server's
	core    *core
	done    chan error
	ingest  http.Handler
	citizen http.Handler

	names map[string]string         // person id -> handle
	facts map[string]*personDefault // handle -> what defaults are taken from
	seq   int                       // events sent without an id
}

// personDefault is what the runner remembers of a person for the defaults
// of later events.
type personDefault struct {
	familyName, region, timeZone, address string
}

func startCaseEnv(ctx context.Context, c *testCase, cat *catalogue.Catalogue, log *slog.Logger) (_ *caseEnv, err error) {
	at, err := parseWhen(c.Date)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lifesituations-case-")
	if err != nil {
		return nil, err
	}
	env := &caseEnv{dir: dir, clk: clock.NewManual(at), names: map[string]string{}, facts: map[string]*personDefault{}}
	env.ctx, env.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			_ = env.stop()
		}
	}()
	raw, err := embedded.Open(dir, embedded.WithClock(env.clk))
	if err != nil {
		return nil, fmt.Errorf("open the embedded store: %w", err)
	}
	if env.store, err = sealStore(raw, dir); err != nil {
		return nil, err
	}
	env.core, err = openCore(env.store, env.clk, coreConfig{
		data: dir, catalogue: cat, agencyDelay: caseAgencyDelay, partitions: 2, tick: time.Hour,
	}, log)
	if err != nil {
		return nil, err
	}
	persons := register.NewIndex()
	metrics, err := ingest.NewMetrics(nil)
	if err != nil {
		return nil, err
	}
	if env.ingest, err = ingest.NewHandler(ingest.Config{Store: env.store, Register: persons, Clock: env.clk, Logger: log, Metrics: metrics}); err != nil {
		return nil, err
	}
	env.citizen = citizenapi.New(env.core.cabinet, env.core.service, log).Handler()

	ready := make(chan struct{})
	env.done = make(chan error, 1)
	go func() { env.done <- env.core.run(env.ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-env.done:
		env.done <- err
		return nil, fmt.Errorf("the orchestrator did not start: %w", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return env, nil
}

func (env *caseEnv) stop() error {
	env.cancel()
	var errs []error
	if env.done != nil {
		errs = append(errs, <-env.done)
	}
	if env.core != nil {
		errs = append(errs, env.core.close())
	}
	if env.store != nil {
		errs = append(errs, env.store.Close())
	}
	errs = append(errs, os.RemoveAll(env.dir))
	return errors.Join(errs...)
}

// play runs the case: persons, events, then steps, expectations.
func (env *caseEnv) play(c *testCase) (failures []string, err error) {
	for _, p := range c.Persons {
		if err := env.send(personEvent(p)); err != nil {
			return failures, fmt.Errorf("person %s: %w", p.handle, err)
		}
	}
	for i, e := range c.Events {
		if err := env.send(e); err != nil {
			return failures, fmt.Errorf("event %d (%s): %w", i+1, e.Type, err)
		}
	}
	if err := env.core.settle(env.ctx); err != nil {
		return failures, err
	}
	for i, st := range c.Then {
		where := fmt.Sprintf("then %d", i+1)
		if st.Date != "" {
			at, _ := parseWhen(st.Date) // checked by validate
			if err := env.clk.Set(at); err != nil {
				return failures, fmt.Errorf("%s: %w", where, err)
			}
			// What the clock makes due happens before anything else.
			if err := env.core.settle(env.ctx); err != nil {
				return failures, err
			}
			where += " (" + st.Date + ")"
		}
		for j, e := range st.Events {
			if err := env.send(e); err != nil {
				return failures, fmt.Errorf("%s: event %d (%s): %w", where, j+1, e.Type, err)
			}
		}
		for _, cmd := range []struct {
			verb string
			spec *commandSpec
		}{{"confirm", st.Confirm}, {"decline", st.Decline}, {"withdraw", st.Withdraw}} {
			if cmd.spec != nil {
				if err := env.command(cmd.verb, cmd.spec); err != nil {
					return failures, fmt.Errorf("%s: %s %s of %s: %w", where, cmd.verb, cmd.spec.Service, cmd.spec.Person, err)
				}
			}
		}
		if err := env.core.settle(env.ctx); err != nil {
			return failures, err
		}
		if len(st.Expect) > 0 {
			fs, err := env.check(st.Expect)
			if err != nil {
				return failures, err
			}
			for _, f := range fs {
				failures = append(failures, "at "+where+": "+f)
			}
		}
	}
	if len(c.Expect) > 0 {
		fs, err := env.check(c.Expect)
		if err != nil {
			return failures, err
		}
		if len(c.Then) > 0 {
			for i := range fs {
				fs[i] = "at the end: " + fs[i]
			}
		}
		failures = append(failures, fs...)
	}
	return failures, nil
}

// id is the person id a handle stands for; a UUID stands for itself.
func (env *caseEnv) id(handle string) string {
	if u, err := uuid.Parse(handle); err == nil {
		return u.String()
	}
	id := uuid.NewSHA1(caseNS, []byte(handle)).String()
	env.names[id] = handle
	return id
}

// name is the handle of a person id, for reports.
func (env *caseEnv) name(id string) string {
	if h, ok := env.names[id]; ok {
		return h
	}
	return id
}

func personEvent(p namedPerson) eventSpec {
	d := yamlMap{"person_id": p.handle}
	s := p.spec
	for k, v := range map[string]string{
		"family_name": s.FamilyName, "given_name": s.GivenName, "birth_date": s.BirthDate, "sex": s.Sex,
		"citizenship": s.Citizenship, "region": s.Region, "time_zone": s.TimeZone, "address": s.Address,
	} {
		if v != "" {
			d[k] = v
		}
	}
	return eventSpec{Type: string(lifeevent.PersonRegistered), ID: "person-" + p.handle, Data: d}
}

// cloudEvent turns an event of the case into the CloudEvent a registry
// would send: handles replaced by ids, defaults filled in.
func (env *caseEnv) cloudEvent(e eventSpec) (map[string]any, string, error) {
	data := map[string]any{}
	for k, v := range e.Data {
		data[k] = v
	}
	handle := func(key string) string {
		s, _ := data[key].(string)
		return s
	}
	now := env.clk.Now()
	today := func(person string) string {
		loc := moscow()
		if f := env.facts[person]; f != nil {
			if l, err := time.LoadLocation(f.timeZone); err == nil {
				loc = l
			}
		}
		return now.In(loc).Format(time.DateOnly)
	}
	set := func(key string, v any) {
		if _, ok := data[key]; !ok {
			data[key] = v
		}
	}
	fact := func(person string) personDefault {
		if f := env.facts[person]; f != nil {
			return *f
		}
		return personDefault{familyName: "Иванова", region: "RU-MOW", timeZone: "Europe/Moscow", address: defaultAddress("RU-MOW")}
	}
	env.seq++
	record := fmt.Sprintf("case-%06d", env.seq)
	subject := ""
	switch lifeevent.Type(e.Type) {
	case lifeevent.PersonRegistered:
		h := handle("person_id")
		set("given_name", h)
		set("sex", "F")
		family := "Иванова"
		if data["sex"] == "M" {
			family = "Иванов"
		}
		set("family_name", family)
		set("birth_date", "1990-01-01")
		set("citizenship", "RU")
		set("region", "RU-MOW")
		set("time_zone", "Europe/Moscow")
		set("address", defaultAddress(fmt.Sprint(data["region"])))
		subject = h
	case lifeevent.BirthRegistered:
		mother := fact(handle("mother_id"))
		set("record_number", record)
		set("child_family_name", mother.familyName)
		set("child_given_name", handle("child_id"))
		set("sex", "M")
		set("birth_date", today(handle("mother_id")))
		set("region", mother.region)
		set("time_zone", mother.timeZone)
		set("address", mother.address)
		subject = handle("child_id")
	case lifeevent.ResidenceChanged:
		p := handle("person_id")
		f := fact(p)
		set("from_region", f.region)
		set("to_region", f.region)
		set("time_zone", f.timeZone)
		set("address", defaultAddress(fmt.Sprint(data["to_region"]))+", кв. 2")
		set("effective_date", today(p))
		subject = p
	case lifeevent.MarriageRegistered:
		set("record_number", record)
		if ids, ok := data["spouse_ids"].([]any); ok && len(ids) > 0 {
			subject, _ = ids[0].(string)
			set("date", today(subject))
		}
	case lifeevent.DeathRegistered:
		p := handle("person_id")
		set("record_number", record)
		set("date_of_death", today(p))
		set("region", fact(p).region)
		subject = p
	case lifeevent.IncomeReported:
		subject = handle("person_id")
	}
	if e.Subject != "" {
		subject = e.Subject
	}
	env.resolveIDs(data)
	source := e.Source
	if source == "" {
		source = lifeevent.Type(e.Type).Owner()
	}
	id := e.ID
	if id == "" {
		id = fmt.Sprintf("case-event-%d", env.seq)
	}
	at := now
	if e.Time != "" {
		at, _ = parseWhen(e.Time) // checked by validate
	}
	return map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": e.Type,
		"time": at.Format(time.RFC3339), "subject": env.id(subject), "data": data,
	}, source, nil
}

func defaultAddress(region string) string {
	city := map[string]string{
		"RU-MOW": "Москва", "RU-SPE": "Санкт-Петербург", "RU-TAT": "Казань", "RU-NVS": "Новосибирск",
	}[region]
	if city == "" {
		city = region
	}
	return city + ", ул. Садовая, д. 1"
}

// resolveIDs replaces handles by ids wherever the data names a person.
func (env *caseEnv) resolveIDs(data map[string]any) {
	for k, v := range data {
		switch {
		case strings.HasSuffix(k, "_id"):
			if s, ok := v.(string); ok {
				data[k] = env.id(s)
			}
		case strings.HasSuffix(k, "_ids"):
			if list, ok := v.([]any); ok {
				for i, x := range list {
					if s, ok := x.(string); ok {
						list[i] = env.id(s)
					}
				}
			}
		case k == "new_family_names":
			if m, ok := v.(map[string]any); ok {
				out := make(map[string]any, len(m))
				for h, name := range m {
					out[env.id(h)] = name
				}
				data[k] = out
			}
		}
	}
}

// send posts one event to the real ingest handler and remembers its facts.
func (env *caseEnv) send(e eventSpec) error {
	ce, source, err := env.cloudEvent(e)
	if err != nil {
		return err
	}
	body, err := json.Marshal(ce)
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(auth.WithPrincipal(env.ctx, auth.Principal{Role: auth.RoleRegistry, Subject: source}),
		http.MethodPost, ingest.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	rec := httptest.NewRecorder()
	env.ingest.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		return fmt.Errorf("refused with %d: %s", rec.Code, env.unmask(rec.Body.String()))
	}
	env.remember(e.Type, ce["data"].(map[string]any))
	return nil
}

// remember keeps what later events take their defaults from.
func (env *caseEnv) remember(typ string, data map[string]any) {
	str := func(k string) string { s, _ := data[k].(string); return s }
	get := func(id string) *personDefault {
		h := env.name(id)
		if env.facts[h] == nil {
			env.facts[h] = &personDefault{}
		}
		return env.facts[h]
	}
	switch lifeevent.Type(typ) {
	case lifeevent.PersonRegistered:
		*get(str("person_id")) = personDefault{familyName: str("family_name"), region: str("region"), timeZone: str("time_zone"), address: str("address")}
	case lifeevent.BirthRegistered:
		*get(str("child_id")) = personDefault{familyName: str("child_family_name"), region: str("region"), timeZone: str("time_zone"), address: str("address")}
	case lifeevent.ResidenceChanged:
		f := get(str("person_id"))
		f.region, f.timeZone, f.address = str("to_region"), str("time_zone"), str("address")
	case lifeevent.MarriageRegistered:
		if names, ok := data["new_family_names"].(map[string]any); ok {
			for id, n := range names {
				if s, ok := n.(string); ok {
					get(id).familyName = s
				}
			}
		}
	}
}

// unmask replaces the ids in a text by their handles.
func (env *caseEnv) unmask(s string) string {
	ids := make([]string, 0, len(env.names))
	for id := range env.names {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s = strings.ReplaceAll(s, id, env.names[id])
	}
	return strings.TrimSpace(s)
}

// command confirms or declines a draft, or withdraws a grant, through the
// real citizen API, as the person.
func (env *caseEnv) command(verb string, spec *commandSpec) error {
	person := env.id(spec.Person)
	var target string
	switch verb {
	case "confirm", "decline":
		drafts, err := env.core.cabinet.Drafts(person)
		if err != nil {
			return err
		}
		var found []cabinet.Draft
		for _, d := range drafts {
			if d.Service == spec.Service && d.Applicant == person && d.Status == "open" &&
				(spec.Beneficiary == "" || d.Beneficiary == env.id(spec.Beneficiary)) {
				found = append(found, d)
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("%d open drafts of theirs match, want 1 (give beneficiary to choose)", len(found))
		}
		target = "/v1/me/drafts/" + found[0].ID.String() + "/" + verb
	case "withdraw":
		grants, err := env.core.cabinet.Grants(person)
		if err != nil {
			return err
		}
		var found []cabinet.Grant
		for _, g := range grants {
			if g.Service == spec.Service && g.Applicant == person && g.Status == cabinet.GrantActive &&
				(spec.Beneficiary == "" || g.Beneficiary == env.id(spec.Beneficiary)) {
				found = append(found, g)
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("%d active grants of theirs match, want 1 (give beneficiary to choose)", len(found))
		}
		target = "/v1/me/grants/" + found[0].ID.String() + "/withdraw"
	}
	body := map[string]any{}
	if len(spec.Fields) > 0 {
		body["fields"] = map[string]any(spec.Fields)
	}
	if spec.Reason != "" {
		body["reason"] = spec.Reason
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(auth.WithPrincipal(env.ctx, auth.Principal{Role: auth.RoleCitizen, Subject: person}),
		http.MethodPost, target, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	env.citizen.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("refused with %d: %s", rec.Code, env.unmask(rec.Body.String()))
	}
	return nil
}

// --- checking ----------------------------------------------------------------

// check compares what each person sees with the expectations.
func (env *caseEnv) check(want expectations) ([]string, error) {
	var failures []string
	for _, pe := range want {
		id := env.id(pe.handle)
		fs, err := env.checkPerson(id, pe.want)
		if err != nil {
			return failures, fmt.Errorf("reading the cabinet of %s: %w", pe.handle, err)
		}
		for _, f := range fs {
			failures = append(failures, pe.handle+": "+f)
		}
	}
	return failures, nil
}

func (env *caseEnv) checkPerson(id string, want personExpect) ([]string, error) {
	var failures []string
	if len(want.Situations) > 0 {
		sits, err := env.core.cabinet.Situations(id)
		if err != nil {
			return nil, err
		}
		failures = append(failures, env.checkSituations(sits, want.Situations)...)
	}
	if len(want.Drafts) > 0 {
		drafts, err := env.core.cabinet.Drafts(id)
		if err != nil {
			return nil, err
		}
		failures = append(failures, env.checkDrafts(drafts, want.Drafts)...)
	}
	if len(want.Grants) > 0 {
		grants, err := env.core.cabinet.Grants(id)
		if err != nil {
			return nil, err
		}
		failures = append(failures, env.checkGrants(grants, want.Grants)...)
	}
	if len(want.Notifications) > 0 {
		ns, err := env.core.cabinet.Notifications(id)
		if err != nil {
			return nil, err
		}
		failures = append(failures, env.checkNotifications(ns, want.Notifications)...)
	}
	return failures, nil
}

func (env *caseEnv) checkSituations(got []cabinet.Situation, want []situationExpect) []string {
	byKind := map[string][]cabinet.Situation{}
	for _, s := range got {
		byKind[s.Kind] = append(byKind[s.Kind], s)
	}
	for _, list := range byKind {
		sort.SliceStable(list, func(i, j int) bool { return list[i].OpenedAt.Before(list[j].OpenedAt) })
	}
	var kinds []string
	wantByKind := map[string][]situationExpect{}
	for _, w := range want {
		if _, ok := wantByKind[w.Kind]; !ok {
			kinds = append(kinds, w.Kind)
		}
		wantByKind[w.Kind] = append(wantByKind[w.Kind], w)
	}
	var failures []string
	for _, kind := range kinds {
		ws, have := wantByKind[kind], byKind[kind]
		if len(ws) == 1 && ws[0].Count != nil {
			if len(have) != *ws[0].Count {
				failures = append(failures, fmt.Sprintf("%s: want %d situation(s), got %d%s", kind, *ws[0].Count, len(have), env.listSituations(have)))
				continue
			}
			for i, s := range have {
				failures = append(failures, env.checkSituation(fmt.Sprintf("%s #%d", kind, i+1), s, ws[0])...)
			}
			continue
		}
		if len(have) != len(ws) {
			failures = append(failures, fmt.Sprintf("%s: want %d situation(s), got %d%s", kind, len(ws), len(have), env.listSituations(have)))
			continue
		}
		for i, s := range have {
			label := kind
			if len(have) > 1 {
				label = fmt.Sprintf("%s #%d", kind, i+1)
			}
			failures = append(failures, env.checkSituation(label, s, ws[i])...)
		}
	}
	return failures
}

func (env *caseEnv) listSituations(sits []cabinet.Situation) string {
	var b strings.Builder
	for i, s := range sits {
		fmt.Fprintf(&b, "\n  #%d opened %s (event date %s), %s:\n%s", i+1, s.OpenedAt.Format(time.RFC3339), s.EventDate, s.Status, env.listSteps(s.Steps, "    "))
	}
	return b.String()
}

func (env *caseEnv) checkSituation(label string, s cabinet.Situation, want situationExpect) []string {
	var diffs []string
	if want.Status != "" && string(s.Status) != want.Status {
		diffs = append(diffs, fmt.Sprintf("status: want %s, got %s", want.Status, s.Status))
	}
	var wantSteps []stepExpect
	if want.Steps != nil {
		wantSteps = *want.Steps
	}
	used := make([]bool, len(s.Steps))
	for _, ws := range wantSteps {
		best, bestDiffs := -1, []string(nil)
		for i, st := range s.Steps {
			if used[i] || st.Service != ws.Service {
				continue
			}
			d := env.stepDiffs(st, ws)
			if len(d) == 0 {
				best, bestDiffs = i, nil
				break
			}
			if best < 0 || len(d) < len(bestDiffs) {
				best, bestDiffs = i, d
			}
		}
		switch {
		case best < 0:
			diffs = append(diffs, fmt.Sprintf("%s: missing step (%s)", ws.Service, env.describeWant(ws)))
		case len(bestDiffs) > 0:
			used[best] = true
			diffs = append(diffs, fmt.Sprintf("%s%s:\n  %s", ws.Service, env.stepWho(s.Steps[best]), strings.Join(bestDiffs, "\n  ")))
		default:
			used[best] = true
		}
	}
	if !want.Partial && want.Steps != nil {
		for i, st := range s.Steps {
			if !used[i] {
				diffs = append(diffs, fmt.Sprintf("%s%s: unexpected step, %s", st.Service, env.stepWho(st), st.Outcome))
			}
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s:\n  %s\n  got, opened %s (event date %s), %s:\n%s", label, indentRest(strings.Join(diffs, "\n"), "  "),
		s.OpenedAt.Format(time.RFC3339), s.EventDate, s.Status, env.listSteps(s.Steps, "    "))}
}

func indentRest(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

func (env *caseEnv) stepWho(st cabinet.Step) string {
	return fmt.Sprintf(" [applicant %s, beneficiary %s]", env.name(st.Applicant), env.name(st.Beneficiary))
}

func (env *caseEnv) describeWant(ws stepExpect) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("outcome", ws.Outcome)
	add("applicant", ws.Applicant)
	add("beneficiary", ws.Beneficiary)
	add("deadline", ws.Deadline)
	if ws.Reasons != nil {
		parts = append(parts, fmt.Sprintf("reasons %q", *ws.Reasons))
	}
	return strings.Join(parts, ", ")
}

// stepDiffs lists how a step differs from the expectation.
func (env *caseEnv) stepDiffs(st cabinet.Step, ws stepExpect) []string {
	var d []string
	if ws.Outcome != "" && string(st.Outcome) != ws.Outcome {
		d = append(d, fmt.Sprintf("outcome: want %s, got %s", ws.Outcome, st.Outcome))
	}
	if ws.Applicant != "" && st.Applicant != env.id(ws.Applicant) {
		d = append(d, fmt.Sprintf("applicant: want %s, got %s", ws.Applicant, env.name(st.Applicant)))
	}
	if ws.Beneficiary != "" && st.Beneficiary != env.id(ws.Beneficiary) {
		d = append(d, fmt.Sprintf("beneficiary: want %s, got %s", ws.Beneficiary, env.name(st.Beneficiary)))
	}
	if ws.Deadline != "" && string(st.Deadline) != ws.Deadline {
		d = append(d, fmt.Sprintf("deadline: want %s, got %s", ws.Deadline, orNone(string(st.Deadline))))
	}
	if ws.Reasons != nil {
		if len(*ws.Reasons) == 0 && len(st.Reasons) > 0 {
			d = append(d, fmt.Sprintf("reasons: want none, got %d", len(st.Reasons)))
		}
		for _, text := range *ws.Reasons {
			if !reasonsContain(st.Reasons, text) {
				d = append(d, fmt.Sprintf("reasons: want one containing %q, got %s", text, countReasons(st.Reasons)))
			}
		}
	}
	return d
}

func countReasons(rs []catalogue.Reason) string {
	if len(rs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d other(s), listed below", len(rs))
}

func reasonsContain(rs []catalogue.Reason, text string) bool {
	for _, r := range rs {
		if strings.Contains(r.Text.RU, text) || strings.Contains(r.Text.EN, text) || strings.Contains(r.LegalBasis, text) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// listSteps prints a situation's steps with their reasons, as got.
func (env *caseEnv) listSteps(steps []cabinet.Step, prefix string) string {
	var b strings.Builder
	for _, st := range steps {
		fmt.Fprintf(&b, "%s- %s: %s%s", prefix, st.Service, st.Outcome, env.stepWho(st))
		if st.Deadline != "" {
			fmt.Fprintf(&b, ", deadline %s", st.Deadline)
		}
		b.WriteString("\n")
		for _, r := range st.Reasons {
			label := string(r.Kind)
			if r.Rule != "" {
				label += " " + r.Rule
			}
			fmt.Fprintf(&b, "%s    %s: %s\n%s      %s\n", prefix, label, r.Text.RU, prefix, r.Text.EN)
			if r.LegalBasis != "" {
				fmt.Fprintf(&b, "%s      (%s)\n", prefix, r.LegalBasis)
			}
		}
	}
	if len(steps) == 0 {
		b.WriteString(prefix + "(no steps)\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (env *caseEnv) checkDrafts(got []cabinet.Draft, want []draftExpect) []string {
	var failures []string
	used := make([]bool, len(got))
	for _, w := range want {
		match := func(d cabinet.Draft) []string {
			var diffs []string
			if d.Service != w.Service {
				return []string{"service"}
			}
			if w.Status != "" && string(d.Status) != w.Status {
				diffs = append(diffs, fmt.Sprintf("status: want %s, got %s", w.Status, d.Status))
			}
			if w.Applicant != "" && d.Applicant != env.id(w.Applicant) {
				diffs = append(diffs, fmt.Sprintf("applicant: want %s, got %s", w.Applicant, env.name(d.Applicant)))
			}
			if w.Beneficiary != "" && d.Beneficiary != env.id(w.Beneficiary) {
				diffs = append(diffs, fmt.Sprintf("beneficiary: want %s, got %s", w.Beneficiary, env.name(d.Beneficiary)))
			}
			if w.Deadline != "" && string(d.Deadline) != w.Deadline {
				diffs = append(diffs, fmt.Sprintf("deadline: want %s, got %s", w.Deadline, orNone(string(d.Deadline))))
			}
			return append(diffs, env.fieldDiffs("prefill", d.Prefill, w.Prefill)...)
		}
		failures = append(failures, env.matchItems(len(got), used, w.Service, w.Count, func(i int) []string { return match(got[i]) },
			func(i int) string { return env.describeDraft(got[i]) })...)
	}
	return failures
}

func (env *caseEnv) describeDraft(d cabinet.Draft) string {
	return fmt.Sprintf("%s %s [applicant %s, beneficiary %s], deadline %s, prefill %s", d.Service, d.Status,
		env.name(d.Applicant), env.name(d.Beneficiary), orNone(string(d.Deadline)), env.unmask(compactJSON(d.Prefill)))
}

func (env *caseEnv) checkGrants(got []cabinet.Grant, want []grantExpect) []string {
	var failures []string
	used := make([]bool, len(got))
	for _, w := range want {
		match := func(g cabinet.Grant) []string {
			var diffs []string
			if g.Service != w.Service {
				return []string{"service"}
			}
			if w.Status != "" && string(g.Status) != w.Status {
				diffs = append(diffs, fmt.Sprintf("status: want %s, got %s", w.Status, g.Status))
			}
			if w.Applicant != "" && g.Applicant != env.id(w.Applicant) {
				diffs = append(diffs, fmt.Sprintf("applicant: want %s, got %s", w.Applicant, env.name(g.Applicant)))
			}
			if w.Beneficiary != "" && g.Beneficiary != env.id(w.Beneficiary) {
				diffs = append(diffs, fmt.Sprintf("beneficiary: want %s, got %s", w.Beneficiary, env.name(g.Beneficiary)))
			}
			if w.Registry != "" && g.Registry != w.Registry {
				diffs = append(diffs, fmt.Sprintf("registry: want %s, got %s", w.Registry, g.Registry))
			}
			return append(diffs, env.fieldDiffs("details", g.Details, w.Details)...)
		}
		failures = append(failures, env.matchItems(len(got), used, w.Service, w.Count, func(i int) []string { return match(got[i]) },
			func(i int) string { return env.describeGrant(got[i]) })...)
	}
	return failures
}

func (env *caseEnv) describeGrant(g cabinet.Grant) string {
	return fmt.Sprintf("%s %s [applicant %s, beneficiary %s], registry %s, details %s", g.Service, g.Status,
		env.name(g.Applicant), env.name(g.Beneficiary), g.Registry, env.unmask(compactJSON(g.Details)))
}

// matchItems matches one draft or grant expectation: with count, exactly
// count items match; otherwise one item not matched before must.
func (env *caseEnv) matchItems(n int, used []bool, service string, count *int, diffs func(int) []string, describe func(int) string) []string {
	var matched []int
	var near []string
	for i := range n {
		d := diffs(i)
		switch {
		case len(d) == 0:
			matched = append(matched, i)
		case d[0] != "service":
			near = append(near, describe(i)+":\n    "+strings.Join(d, "\n    "))
		}
	}
	all := func() string {
		var b strings.Builder
		for i := range n {
			if d := diffs(i); len(d) == 0 || d[0] != "service" {
				b.WriteString("\n  - " + describe(i))
			}
		}
		if b.Len() == 0 {
			return " none"
		}
		return b.String()
	}
	if count != nil {
		if len(matched) != *count {
			return []string{fmt.Sprintf("%s: want %d matching, got %d; all of theirs of that service:%s", service, *count, len(matched), all())}
		}
		return nil
	}
	for _, i := range matched {
		if !used[i] {
			used[i] = true
			return nil
		}
	}
	if len(near) > 0 {
		return []string{fmt.Sprintf("%s: no matching one; the nearest:\n  - %s", service, indentRest(strings.Join(near, "\n"), "  "))}
	}
	return []string{service + ": missing; they have none of that service"}
}

// fieldDiffs compares some fields of a prefill or details; person ids in
// what was got are shown, and compared, as handles.
func (env *caseEnv) fieldDiffs(what string, got map[string]any, want yamlMap) []string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s: want %s, got nothing", what, k, compactJSON(want[k])))
			continue
		}
		gs, ws := env.unmask(compactJSON(g)), compactJSON(want[k])
		if gs != ws {
			diffs = append(diffs, fmt.Sprintf("%s.%s: want %s, got %s", what, k, ws, gs))
		}
	}
	return diffs
}

// compactJSON is the canonical JSON of a value: numbers as JSON has them,
// so 963243.17 written in YAML equals the same figure in a prefill.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var x any
	if json.Unmarshal(b, &x) == nil {
		if b2, err := json.Marshal(x); err == nil {
			return string(b2)
		}
	}
	return string(b)
}

func (env *caseEnv) checkNotifications(got []cabinet.Notification, want []notificationExpect) []string {
	var failures []string
	for _, w := range want {
		n := 0
		for _, x := range got {
			if (w.Kind == "" || string(x.Kind) == w.Kind) && (w.Service == "" || x.Service == w.Service) &&
				(w.Outcome == "" || string(x.Outcome) == w.Outcome) {
				n++
			}
		}
		if (w.Count != nil && n != *w.Count) || (w.Count == nil && n == 0) {
			want := "at least 1"
			if w.Count != nil {
				want = fmt.Sprint(*w.Count)
			}
			var b strings.Builder
			for _, x := range got {
				fmt.Fprintf(&b, "\n  - %s %s %s %s", x.At.Format(time.RFC3339), x.Kind, x.Service, x.Outcome)
			}
			failures = append(failures, fmt.Sprintf("notifications {kind: %s, service: %s, outcome: %s}: want %s, got %d; all of theirs, newest first:%s",
				orAny(w.Kind), orAny(w.Service), orAny(w.Outcome), want, n, b.String()))
		}
	}
	return failures
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

// --- the command -------------------------------------------------------------

// snapshotCatalogue copies the catalogue's files (not its tests) to a
// temporary directory, so that every case runs the same catalogue even
// while a curator edits it.
func snapshotCatalogue(dir string) (string, func(), error) {
	info, err := os.Stat(dir)
	if err != nil {
		return "", nil, fmt.Errorf("catalogue directory: %w", err)
	}
	if !info.IsDir() {
		return "", nil, fmt.Errorf("catalogue directory: %s is not a directory", dir)
	}
	snap, err := os.MkdirTemp("", "lifesituations-catalogue-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(snap) }
	err = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && d.Name() == catalogue.TestsDir {
				return fs.SkipDir
			}
			return os.MkdirAll(filepath.Join(snap, filepath.FromSlash(p)), 0o755)
		}
		if path.Ext(p) != ".yaml" && path.Ext(p) != ".yml" {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(snap, filepath.FromSlash(p)), b, 0o644)
	})
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copying the catalogue: %w", err)
	}
	return snap, cleanup, nil
}

// catalogueTest: lifesituations catalogue test [flags] DIR.
func catalogueTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("catalogue test", catalogueTestSummary, stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lifesituations catalogue test [flags] DIR\n\n%s\n\nFlags (each also LIFESITUATIONS_<FLAG> in the environment):\n", catalogueTestSummary)
		fs.PrintDefaults()
	}
	casesDir := fs.String("cases", "", "directory of the case files (default DIR/tests)")
	runRE := fs.String("run", "", "run only the cases whose \"file: name\" matches this regular expression")
	parallel := fs.Int("parallel", runtime.GOMAXPROCS(0), "cases run at once")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("catalogue test: give exactly one catalogue directory")
	}
	dir := fs.Arg(0)
	snapshot, cleanup, err := snapshotCatalogue(dir)
	if err != nil {
		return err
	}
	defer cleanup()
	cat, err := loadCatalogueDir(snapshot)
	if err != nil {
		var bad *catalogue.LoadError
		if errors.As(err, &bad) {
			for _, p := range bad.Problems {
				fmt.Fprintln(stdout, p.String())
			}
			return fmt.Errorf("catalogue %s refused: %d problem(s)", dir, len(bad.Problems))
		}
		return err
	}
	if *casesDir == "" {
		*casesDir = filepath.Join(dir, catalogue.TestsDir)
	}
	cases, err := loadCases(*casesDir)
	if err != nil {
		return err
	}
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			return fmt.Errorf("--run: %w", err)
		}
		var keep []*testCase
		for _, c := range cases {
			if re.MatchString(c.title()) {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("--run %q matches none of the %d cases", *runRE, len(cases))
		}
		cases = keep
	}
	failed := 0
	start := time.Now()
	runCases(ctx, cases, cat, *parallel, func(r caseResult) {
		if !r.ok() {
			failed++
		}
		fmt.Fprint(stdout, r.report())
	})
	fmt.Fprintf(stdout, "%d cases, %d passed, %d failed (%.1fs)\n", len(cases), len(cases)-failed, failed, time.Since(start).Seconds())
	if failed > 0 {
		return fmt.Errorf("catalogue test: %d of %d cases failed", failed, len(cases))
	}
	return nil
}
