package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// newFlagSet returns a flag set whose usage names the command.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lifesituations %s [flags]\n\n%s\n\nFlags (each also LIFESITUATIONS_<FLAG> in the environment):\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseWithEnv parses args after applying LIFESITUATIONS_<FLAG> variables
// as defaults, so that a flag on the command line wins over the environment.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		name := "LIFESITUATIONS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", name, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(errs, "; "))
	}
	return fs.Parse(args)
}

// oneOf is a flag value restricted to a set of words.
type oneOf struct {
	value   string
	allowed []string
}

func (o *oneOf) String() string { return o.value }

func (o *oneOf) Set(s string) error {
	for _, a := range o.allowed {
		if s == a {
			o.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(o.allowed, ", "))
}
