package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"lifesituations/domain/catalogue"
)

const catalogueUsage = `Usage:
  lifesituations catalogue check DIR   check a catalogue directory before publishing it
`

// catalogueCmd holds the curators' tools.
func catalogueCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, catalogueUsage)
		if len(args) == 0 {
			return errors.New("catalogue: which command?")
		}
		return fmt.Errorf("catalogue: unknown command %q", args[0])
	}
	fs := newFlagSet("catalogue check", "Loads every YAML file of DIR as the server would (--catalogue DIR) and lists\nevery problem with its file and line; exits non-zero if there is one.", stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("catalogue check: give exactly one directory")
	}
	dir := fs.Arg(0)
	cat, err := loadCatalogueDir(dir)
	var bad *catalogue.LoadError
	if errors.As(err, &bad) {
		for _, p := range bad.Problems {
			fmt.Fprintln(stdout, p.String())
		}
		return fmt.Errorf("catalogue %s refused: %d problem(s)", dir, len(bad.Problems))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "catalogue %s: version %s, hash %s, %d situations, %d services: OK\n",
		dir, cat.Version(), cat.Hash(), len(cat.AllSituations()), len(cat.Services()))
	return nil
}

// loadCatalogueDir loads the catalogue in a directory.
func loadCatalogueDir(dir string) (*catalogue.Catalogue, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("catalogue directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("catalogue directory: %s is not a directory", dir)
	}
	return catalogue.Load(os.DirFS(dir))
}
