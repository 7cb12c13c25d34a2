package situations

import (
	"fmt"
	"testing"

	"lifesituations/domain/eventstore"
)

// The positions written per person stay bounded: those the register has
// folded are forgotten, and forgetting them changes no wait (the register
// is already past them).
func TestWritesForgetWhatTheRegisterFolded(t *testing.T) {
	var w writes
	var reached eventstore.Position
	at := func() eventstore.Position { return reached }
	for i := range 100_000 {
		pos := eventstore.Position(i + 1)
		w.record(pos, at, []string{fmt.Sprint("p", i), "mother"})
		reached = max(0, pos-10) // the register lags ten positions behind
	}
	if n := w.size(); n > 2*minPrune {
		t.Errorf("%d persons remembered, want at most %d", n, 2*minPrune)
	}
	if got := w.upTo([]string{"mother"}); got != 100_000 {
		t.Errorf("mother: last write %d, want 100000", got)
	}
	if got := w.upTo([]string{"p99999", "p5"}); got != 100_000 {
		t.Errorf("p99999: last write %d, want 100000", got)
	}
	if got := w.upTo([]string{"nobody"}); got != 0 {
		t.Errorf("nobody: %d, want 0", got)
	}
}
