package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badCatalogue copies the default catalogue and breaks one rule in it.
func badCatalogue(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("../../domain/catalogue/default/*.yaml")
	if len(files) == 0 {
		t.Fatal("no default catalogue files found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "birth.yaml" {
			b = bytes.Replace(b, []byte("condition: "), []byte("condition: nonsense( && "), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCatalogueCheck(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"catalogue", "check", "../../domain/catalogue/default"}, &out, io.Discard); err != nil {
		t.Fatalf("the default catalogue: %v", err)
	}
	if !strings.Contains(out.String(), "version 2026.11") || !strings.Contains(out.String(), "OK") {
		t.Errorf("report: %s", out.String())
	}

	out.Reset()
	err := run(context.Background(), []string{"catalogue", "check", badCatalogue(t)}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a broken catalogue: want refused, got %v", err)
	}
	if !strings.Contains(out.String(), "birth.yaml:") || !strings.Contains(out.String(), "condition") {
		t.Errorf("the problem must name file, line and reason: %s", out.String())
	}

	if err := run(context.Background(), []string{"catalogue", "check", "/nonexistent"}, io.Discard, io.Discard); err == nil {
		t.Error("a missing directory passed")
	}
}

func TestServeRefusesABadCatalogue(t *testing.T) {
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--catalogue", badCatalogue(t)}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "birth.yaml:") {
		t.Fatalf("serve with a broken catalogue: want the reason with file and line, got %v", err)
	}
}
