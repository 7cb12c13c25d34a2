package catalogue

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one mistake in a catalogue, located in its source.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Message
	case p.Line == 0:
		return p.File + ": " + p.Message
	default:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
}

// LoadError lists every problem of a rejected catalogue, by file and line.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// pos is where something is written: file, line and, for expressions, how
// many lines the text starts below its key (1 for block scalars).
type pos struct {
	file   string
	line   int
	offset int
}

// problems collects every problem rather than stopping at the first: a
// curator fixing a catalogue wants the whole list at once.
type problems struct {
	list []Problem
	seen map[string]bool
}

func (ps *problems) add(p pos, ctx, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ctx != "" {
		msg = ctx + ": " + msg
	}
	pr := Problem{File: p.file, Line: p.line, Message: msg}
	key := pr.String()
	if ps.seen == nil {
		ps.seen = map[string]bool{}
	}
	// A service used by several situations would otherwise repeat its problems.
	if ps.seen[key] {
		return
	}
	ps.seen[key] = true
	ps.list = append(ps.list, pr)
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sorted := append([]Problem(nil), ps.list...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].File != sorted[j].File {
			return sorted[i].File < sorted[j].File
		}
		if sorted[i].Line != sorted[j].Line {
			return sorted[i].Line < sorted[j].Line
		}
		return sorted[i].Message < sorted[j].Message
	})
	return &LoadError{Problems: sorted}
}
