package catalogue

import (
	"strings"
	"testing"
	"time"
)

func defaultCatalogue(t *testing.T) *Catalogue {
	t.Helper()
	cat, err := Default()
	if err != nil {
		t.Fatalf("default catalogue refused:\n%v", err)
	}
	return cat
}

func situation(t *testing.T, id string) *Situation {
	t.Helper()
	s, ok := defaultCatalogue(t).Situation(id)
	if !ok {
		t.Fatalf("no situation %q in the default catalogue", id)
	}
	return s
}

// day is noon UTC on a date, a "today" safely inside that date.
func day(t *testing.T, date string) time.Time {
	t.Helper()
	d, err := time.Parse(dateLayout, date)
	if err != nil {
		t.Fatal(err)
	}
	return d.Add(12 * time.Hour)
}

func decide(t *testing.T, situationID string, in Input) Decision {
	t.Helper()
	d, err := Decide(situation(t, situationID), in)
	if err != nil {
		t.Fatalf("Decide(%s): %v", situationID, err)
	}
	return d
}

// stepByKey returns the step decision with the key, failing when absent.
func stepByKey(t *testing.T, d Decision, key string) StepDecision {
	t.Helper()
	for _, s := range d.Steps {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no step %q; steps: %v", key, keys(d))
	return StepDecision{}
}

func hasStep(d Decision, key string) bool {
	for _, s := range d.Steps {
		if s.Key == key {
			return true
		}
	}
	return false
}

func keys(d Decision) []string {
	out := make([]string, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.Key + "=" + string(s.Outcome)
	}
	return out
}

func wantOutcome(t *testing.T, s StepDecision, want Outcome) {
	t.Helper()
	if s.Outcome != want {
		t.Fatalf("%s: outcome %s, want %s; reasons: %+v", s.Key, s.Outcome, want, s.Reasons)
	}
}

// wantReasons checks the failed rules a citizen is shown, by rule id, and
// that each carries words in both languages and a legal basis.
func wantReasons(t *testing.T, s StepDecision, kind ReasonKind, want ...string) {
	t.Helper()
	var got []string
	for _, r := range s.Reasons {
		if r.Kind != kind {
			continue
		}
		got = append(got, r.Rule)
		if r.Text.RU == "" || r.Text.EN == "" {
			t.Errorf("%s: reason %q has no text in both languages: %+v", s.Key, r.Rule, r.Text)
		}
		if kind == ReasonRule && r.LegalBasis == "" {
			t.Errorf("%s: reason %q has no legal basis", s.Key, r.Rule)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: %s reasons %v, want %v", s.Key, kind, got, want)
	}
}

func reasonText(s StepDecision) string {
	var b strings.Builder
	for _, r := range s.Reasons {
		b.WriteString(r.Text.RU + " | " + r.Text.EN + "\n")
	}
	return b.String()
}

func paramUsed(t *testing.T, s StepDecision, name string) ParamUse {
	t.Helper()
	for _, p := range s.Parameters {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("%s: parameter %q not recorded; recorded %+v", s.Key, name, s.Parameters)
	return ParamUse{}
}
