package derivedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyAsCrashed copies the read model file name, with its marker, from the
// directory from (a read model still open) to the directory to: what a
// process killed at this moment leaves, the file as its last commit wrote
// it, marked by this boot.
func CopyAsCrashed(t testing.TB, from, to, name string) {
	t.Helper()
	for _, n := range []string{name, name + ".unsynced"} {
		raw, err := os.ReadFile(filepath.Join(from, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, n), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
