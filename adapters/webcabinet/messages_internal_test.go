package webcabinet

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"lifesituations/domain/catalogue"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// Every message the pages use exists, in both languages: a missing one
// would show its key to a citizen.
func TestEveryMessageIsInBothLanguages(t *testing.T) {
	for key, m := range messages {
		if m.ru == "" || m.en == "" {
			t.Errorf("message %q lacks a language: %+v", key, m)
		}
	}
	used := map[string]bool{}
	uses := regexp.MustCompile(`\.Tf? "([a-zA-Z.]+)"|\.Tf?\("([a-zA-Z.]+)"`)
	files, _ := filepath.Glob("templates/*.html")
	code, _ := filepath.Glob("*.go")
	for _, f := range append(files, code...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			if key := m[1] + m[2]; !strings.HasSuffix(key, ".") { // a prefix completed by a value, listed below
				used[key] = true
			}
		}
	}
	// Keys built from a value.
	for _, o := range []situation.Outcome{catalogue.OutcomeGranted, catalogue.OutcomeDrafted, catalogue.OutcomeNotified,
		catalogue.OutcomeRejected, situation.OutcomeSubmitted, situation.OutcomeDeclined, situation.OutcomeExpired, situation.OutcomeWithdrawn} {
		used["outcome."+string(o)] = true
	}
	for _, s := range []situation.DraftStatus{situation.StatusOpen, situation.StatusConfirmed, situation.StatusDeclined,
		situation.StatusExpired, situation.StatusWithdrawn} {
		used["draft.status."+string(s)] = true
	}
	for _, s := range []cabinet.SituationStatus{cabinet.SituationOpen, cabinet.SituationCompleted} {
		used["situation."+string(s)] = true
	}
	for _, k := range []string{"done.confirmed", "done.declined", "error.notFound", "error.stale", "error.internal",
		"error.catchingUp", "error.busy", "error.badRequest", "rate.s1", "rate.s2", "rate.s3", "rate.s4", "rate.s5"} {
		used[k] = true
	}
	for _, k := range []string{"error.notFound", "error.stale", "error.internal", "error.catchingUp", "error.busy", "error.badRequest"} {
		used[k+".title"] = true
	}
	if len(used) < 50 {
		t.Fatalf("found only %d messages used: the pattern is wrong", len(used))
	}
	for key := range used {
		if _, ok := messages[key]; !ok {
			t.Errorf("message %q is used but not defined", key)
		}
	}
}

func TestDatesInWords(t *testing.T) {
	for in, want := range map[string][2]string{
		"2026-03-05": {"5 марта 2026", "5 March 2026"},
		"2026-12-31": {"31 декабря 2026", "31 December 2026"},
		"2026-13-01": {"2026-13-01", "2026-13-01"},
		"soon":       {"soon", "soon"},
	} {
		if got := ru.date(in); got != want[0] {
			t.Errorf("ru %s: %q", in, got)
		}
		if got := en.date(in); got != want[1] {
			t.Errorf("en %s: %q", in, got)
		}
	}
}
