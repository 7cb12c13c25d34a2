package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lifesituations/domain/catalogue"
	defaultcatalogue "lifesituations/domain/catalogue/default"
)

// TestCatalogueDocIsUpToDate keeps docs/catalogue.md equal to what the
// catalogue data generates.
func TestCatalogueDocIsUpToDate(t *testing.T) {
	want, err := catalogueMarkdown(os.DirFS(defaultCatalogueDir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/catalogue.md")
	if err != nil {
		t.Fatalf("docs/catalogue.md: %v; generate it with: %s", err, docRegenerate)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/catalogue.md differs from the catalogue data (%s); regenerate it with:\n\t%s", firstDifference(got, want), docRegenerate)
	}
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, the data gives %q", i+1, gl, wl)
		}
	}
	return "they differ"
}

func TestCatalogueDocCommand(t *testing.T) {
	var embedded, fromDir bytes.Buffer
	if err := run(context.Background(), []string{"catalogue", "doc"}, &embedded, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"catalogue", "doc", defaultCatalogueDir}, &fromDir, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded.Bytes(), fromDir.Bytes()) {
		t.Error("the embedded catalogue and its directory give different documents")
	}
	again, err := catalogueMarkdown(defaultcatalogue.FS)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, embedded.Bytes()) {
		t.Error("the generator is not deterministic")
	}
	out := filepath.Join(t.TempDir(), "catalogue.md")
	if err := run(context.Background(), []string{"catalogue", "doc", "--out", out}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, again) {
		t.Error("--out wrote something else")
	}
	if err := run(context.Background(), []string{"catalogue", "doc", badCatalogue(t)}, io.Discard, io.Discard); err == nil {
		t.Error("a broken catalogue was documented")
	}
}

// The document covers the catalogue: every situation, step, service,
// curator, parameter value and rule's reason, with version and hash.
func TestCatalogueDocContent(t *testing.T) {
	cat, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	b, err := catalogueMarkdown(defaultcatalogue.FS)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	want := []string{cat.Version(), cat.Hash(), "## Test cases", "expect:"}
	for _, s := range cat.AllSituations() {
		want = append(want, "### `"+s.ID+"`: "+s.Title.EN, fmt.Sprintf("| Window | %d days", s.WindowDays), "[`"+s.Trigger.Event+"`](#trigger-events)")
		for _, st := range s.Steps {
			want = append(want, "#### "+s.ID+" › "+st.ID)
		}
	}
	for _, s := range cat.Services() {
		want = append(want, "### `"+s.ID+"`: "+s.Title.EN, s.Curator.Name, s.LegalBasis)
		for _, e := range s.Editable {
			want = append(want, "| `"+e.Name+"` | "+e.Type)
		}
	}
	for _, name := range []string{"maternity-capital.amount-first-child", "maternity-capital.amount-second-child",
		"subsistence-minimum.per-capita", "deadline.passport-age-days"} {
		p, ok := cat.Parameter(name)
		if !ok {
			t.Fatalf("no parameter %s", name)
		}
		want = append(want, "### `"+name+"`")
		for _, v := range p.Values {
			want = append(want, "| "+v.ValidFrom+" |")
		}
	}
	want = append(want,
		"728921.90", "| RU-MOW | 2026-01-01 | — | 28052 |",
		"only Russian citizens are entitled to maternity capital",
		"- **Reminders**: day 30 of the deadline, day 60 of the deadline",
		"the applicant is notified with [`passport-expired`]",
		"#### marriage › passport-replacement › snils-update",
		"- **Follow-ups**, offered once this step is confirmed or granted: `driving-licence-replacement`",
		"| Withdraws every open draft of | `[event.person_id]` |",
		"grant, opt-out",
	)
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("the document lacks %q", w)
		}
	}
}
