package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lifesituations/domain/catalogue"
)

const defaultCatalogueDir = "../../domain/catalogue/default"

// TestDefaultCatalogueCases runs the cases shipped with the default
// catalogue (domain/catalogue/default/tests), one subtest per case, as
// `lifesituations catalogue test domain/catalogue/default` does. The cases
// run on the embedded default catalogue, compiled into this test from the
// same files (TestCatalogueDocCommand checks that both have the same hash),
// so that it is compiled once rather than once per case.
func TestDefaultCatalogueCases(t *testing.T) {
	cases, err := loadCases(filepath.Join(defaultCatalogueDir, "tests"))
	if err != nil {
		t.Fatal(err)
	}
	// Every situation of the contract has cases.
	files := map[string]bool{}
	for _, c := range cases {
		files[c.file] = true
	}
	for _, f := range []string{"birth-of-child.yaml", "age-milestone.yaml", "move.yaml", "marriage.yaml", "bereavement.yaml"} {
		if !files[f] {
			t.Errorf("no cases in tests/%s", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	runCases(ctx, cases, cat, 4, func(r caseResult) {
		t.Run(r.c.title(), func(t *testing.T) {
			if !r.ok() {
				t.Errorf("the case fails (run it with: go run ./cmd/lifesituations catalogue test --run '%s' domain/catalogue/default):\n%s",
					strings.ReplaceAll(regexpQuote(r.c.title()), "'", "."), r.report())
			}
		})
	})
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// testCatalogue copies the default catalogue into a temporary directory
// with the given case files under tests/.
func testCatalogue(t *testing.T, cases map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(defaultCatalogueDir, "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no default catalogue files found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range cases {
		if err := os.WriteFile(filepath.Join(dir, "tests", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const passingCase = `
persons:
  mother: {birth_date: 1994-03-01, citizenship: KZ}
cases:
  - name: a foreign mother
    date: 2026-03-10
    events:
      - type: birth.registered
        data: {child_id: son, mother_id: mother, birth_date: 2026-03-05}
    expect:
      mother:
        situations:
          - kind: birth-of-child
            partial: true
            steps:
              - {service: maternity-capital, outcome: rejected, reasons: ["not a citizen"]}
`

const failingCase = `
cases:
  - name: a wrong expectation
    date: 2026-03-10
    persons:
      mother: {birth_date: 1994-03-01}
    events:
      - type: birth.registered
        data: {child_id: son, mother_id: mother, birth_date: 2026-03-05}
    expect:
      mother:
        situations:
          - kind: birth-of-child
            steps:
              - {service: birth-certificate, outcome: granted}
              - {service: maternity-capital, outcome: rejected, reasons: ["not a citizen"]}
        grants:
          - {service: maternity-capital, details: {amount: 1}}
`

func TestCatalogueTestCommand(t *testing.T) {
	dir := testCatalogue(t, map[string]string{"a.yaml": passingCase, "b.yaml": failingCase})
	// The tests directory is not part of the catalogue.
	if err := run(context.Background(), []string{"catalogue", "check", dir}, io.Discard, io.Discard); err != nil {
		t.Fatalf("catalogue check with a tests directory: %v", err)
	}

	var out bytes.Buffer
	err := run(context.Background(), []string{"catalogue", "test", dir}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 cases failed") {
		t.Fatalf("want 1 of 2 cases failed, got %v\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{
		"ok    a.yaml: a foreign mother",
		"FAIL  b.yaml: a wrong expectation (b.yaml:3,",
		// The expected and the actual outcome, and the actual reasons.
		"maternity-capital [applicant mother, beneficiary mother]:",
		"outcome: want rejected, got granted",
		`reasons: want one containing "not a citizen", got none`,
		// Steps the expectation does not list.
		"child-snils [applicant mother, beneficiary son]: unexpected step, granted",
		// The whole situation as it came out.
		"- kindergarten-queue: granted [applicant mother, beneficiary son]",
		"details.amount: want 1, got 728921.9",
		"2 cases, 1 passed, 1 failed",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}

	out.Reset()
	if err := run(context.Background(), []string{"catalogue", "test", "--run", "foreign", dir}, &out, io.Discard); err != nil {
		t.Errorf("--run foreign: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "1 cases, 1 passed, 0 failed") {
		t.Errorf("--run foreign: %s", out.String())
	}
}

func TestCatalogueTestHelpDocumentsTheFormat(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"catalogue", "test", "--help"}, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"Usage: lifesituations catalogue test [flags] DIR", "persons:", "events:", "then:", "expect:", "reasons", "-run"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestCaseFileProblems(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"misspelt key": {`
cases:
  - name: x
    date: 2026-03-10
    expect:
      mother:
        situations:
          - kind: birth-of-child
            steps:
              - {service: birth-certificate, outcom: granted}
`, `bad.yaml: line 10: unknown key "outcom" in a step`},
		"unknown event type": {`
cases:
  - name: x
    date: 2026-03-10
    events: [{type: birth.happened, data: {}}]
    expect: {mother: {situations: [{kind: birth-of-child, count: 0}]}}
`, `unknown type "birth.happened"`},
		"no date": {`
cases:
  - name: x
    expect: {mother: {situations: [{kind: birth-of-child, count: 0}]}}
`, "no date"},
		"nothing expected": {`
cases:
  - name: x
    date: 2026-03-10
`, "expects nothing"},
		"bad date": {`
cases:
  - name: x
    date: 10.03.2026
    expect: {mother: {situations: [{kind: birth-of-child, count: 0}]}}
`, "neither a date"},
		"not YAML": {"cases: [", "bad.yaml:"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadCases(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// A refused event fails its case with the orchestrator's reason.
func TestCaseWithARefusedEvent(t *testing.T) {
	dir := testCatalogue(t, map[string]string{"c.yaml": `
cases:
  - name: a birth to an unknown mother
    date: 2026-03-10
    events:
      - type: birth.registered
        data: {child_id: son, mother_id: stranger, birth_date: 2026-03-05}
    expect:
      stranger:
        situations: [{kind: birth-of-child, count: 0}]
`})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"catalogue", "test", dir}, &out, io.Discard); err == nil {
		t.Fatal("a case with a refused event passed")
	}
	if !strings.Contains(out.String(), "event 1 (birth.registered): refused with 400") || !strings.Contains(out.String(), "stranger") {
		t.Errorf("report: %s", out.String())
	}
}

// The example of the format (--help, docs/catalogue.md) is a case that passes.
func TestTheFormatsExamplePasses(t *testing.T) {
	start := strings.Index(casesFormat, "    persons:")
	end := strings.Index(casesFormat, "Persons are named by handles")
	if start < 0 || end < start {
		t.Fatal("no example in the format")
	}
	var lines []string
	for _, l := range strings.Split(casesFormat[start:end], "\n") {
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	dir := testCatalogue(t, map[string]string{"example.yaml": strings.Join(lines, "\n")})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"catalogue", "test", dir}, &out, io.Discard); err != nil {
		t.Fatalf("the example: %v\n%s", err, out.String())
	}
}
