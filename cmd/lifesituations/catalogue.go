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
  lifesituations catalogue check DIR          check a catalogue directory before publishing it
  lifesituations catalogue test [flags] DIR   run the catalogue's test cases (DIR/tests/*.yaml)
  lifesituations catalogue doc [flags] [DIR]  print the catalogue's documentation (Markdown)

Run "lifesituations catalogue COMMAND --help" for the details of a command.
`

// catalogueCmd holds the curators' tools.
func catalogueCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, catalogueUsage)
		return errors.New("catalogue: which command?")
	}
	switch args[0] {
	case "check":
		return catalogueCheck(args[1:], stdout, stderr)
	case "test":
		return catalogueTest(ctx, args[1:], stdout, stderr)
	case "doc":
		return catalogueDoc(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, catalogueUsage)
		return nil
	default:
		fmt.Fprint(stderr, catalogueUsage)
		return fmt.Errorf("catalogue: unknown command %q", args[0])
	}
}

// catalogueCheck: lifesituations catalogue check DIR.
func catalogueCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("catalogue check", "Loads every YAML file of DIR as the server would (--catalogue DIR) and lists\nevery problem with its file and line; exits non-zero if there is one.", stderr)
	if err := fs.Parse(args); err != nil {
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
