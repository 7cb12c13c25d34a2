package storetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files lists the files of each directory under root with their sizes and
// modification times, but the lock files: two listings differ when a
// store wrote to its directory in between.
func Files(t testing.TB, root string, dirs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() == "LOCK" {
				continue
			}
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s:%d:%d ", filepath.Join(dir, e.Name()), info.Size(), info.ModTime().UnixNano())
		}
	}
	return b.String()
}
