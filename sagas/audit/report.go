package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
)

// Kinds of divergence.
const (
	// KindDecision: a step's recorded decision differs from the replay's.
	KindDecision = "decision"
	// KindMissing: the replay decides a step the log does not record.
	KindMissing = "missing-step"
	// KindExtra: the log records a step the replay does not decide.
	KindExtra = "extra-step"
	// KindOrphan: a decision recorded outside any batch the sagas append
	// (an opening, a confirmation, an expiry): nothing in the system
	// records one like it.
	KindOrphan = "orphan-decision"
	// KindFacts: the register replayed as of the recorded position does
	// not give the facts the decision recorded.
	KindFacts = "facts"
	// KindOpening: the situation's own recorded decision (applicant,
	// participants, parameters, event date) differs from the replay's.
	KindOpening = "opening"
	// KindTrigger: the trigger recorded is not the event at its position.
	KindTrigger = "trigger"
	// KindIdentity: a recorded id is not the one the sagas derive.
	KindIdentity = "identity"
	// KindError: the replay could not decide (an expression failed).
	KindError = "error"
)

// Divergence is one decision the replay does not reproduce.
type Divergence struct {
	Kind          string              `json:"kind"`
	Situation     uuid.UUID           `json:"situation"`
	SituationKind string              `json:"situation_kind,omitempty"`
	Step          string              `json:"step,omitempty"`
	StepID        uuid.UUID           `json:"step_id,omitzero"`
	Service       string              `json:"service,omitempty"`
	Position      eventstore.Position `json:"position"`
	EventID       uuid.UUID           `json:"event_id,omitzero"`
	Catalogue     string              `json:"catalogue,omitempty"`
	Detail        string              `json:"detail"`
	// Differences lists what differs, field by field.
	Differences []Difference    `json:"differences,omitempty"`
	Recorded    json.RawMessage `json:"recorded,omitempty"`
	Replayed    json.RawMessage `json:"replayed,omitempty"`
}

// Difference is one field that differs, by JSON pointer.
type Difference struct {
	Path     string `json:"path"`
	Recorded any    `json:"recorded"`
	Replayed any    `json:"replayed"`
}

// Unverifiable counts the decisions taken with a catalogue the auditor did
// not supply (not the embedded one, nor a --catalogue directory).
type Unverifiable struct {
	Version string `json:"version"`
	Hash    string `json:"hash"`
	// Decisions counts the steps left unverified; Example is the first.
	Decisions int       `json:"decisions"`
	Example   uuid.UUID `json:"example_situation"`
	Reason    string    `json:"reason"`
}

// IntegrityBreak is a place where the log itself is broken: an edited,
// removed or reordered record.
type IntegrityBreak struct {
	Position eventstore.Position `json:"position"`
	Detail   string              `json:"detail"`
}

// CatalogueUse tells, for one catalogue version, whether it was published
// in the log, supplied to the replay, and how many decisions it verified.
type CatalogueUse struct {
	Version   string `json:"version"`
	Hash      string `json:"hash"`
	Published bool   `json:"published"`
	Supplied  bool   `json:"supplied"`
	Verified  int    `json:"verified"`
}

// Report is the outcome of a verification.
type Report struct {
	LastPosition eventstore.Position `json:"last_position"`
	Events       uint64              `json:"events"`
	Situations   int                 `json:"situations"`
	// Decisions counts the step decisions recorded; Verified those the
	// replay reproduced exactly.
	Decisions    int               `json:"decisions"`
	Verified     int               `json:"verified"`
	Catalogues   []CatalogueUse    `json:"catalogues"`
	Unverifiable []Unverifiable    `json:"unverifiable"`
	Divergences  []Divergence      `json:"divergences"`
	Integrity    []IntegrityBreak  `json:"integrity"`
	ChainChecked bool              `json:"chain_checked"`
	ChainNote    string            `json:"chain_note,omitempty"`
	Phases       map[string]string `json:"phases"`
	EventsPerSec float64           `json:"events_per_second"`
	// RegisterPersons: the persons whose facts the fresh register folded
	// (those the decisions name and their kin); FactsLeft: the registry
	// facts of everyone else, chained but not folded. Both zero when
	// every fact was folded (Config.EveryFact).
	RegisterPersons int           `json:"register_persons,omitempty"`
	FactsLeft       uint64        `json:"facts_left,omitempty"`
	ReplayElapsed   time.Duration `json:"-"`
}

// OK reports whether the log verified: no divergence, no break.
func (r *Report) OK() bool { return len(r.Divergences) == 0 && len(r.Integrity) == 0 }

// maxDifferences bounds the fields listed per divergence.
const maxDifferences = 20

// diff lists the fields where recorded and replayed JSON differ.
func diff(recorded, replayed []byte) []Difference {
	var a, b any
	if json.Unmarshal(recorded, &a) != nil || json.Unmarshal(replayed, &b) != nil {
		return []Difference{{Path: "", Recorded: string(recorded), Replayed: string(replayed)}}
	}
	var out []Difference
	walk("", a, b, &out)
	return out
}

func walk(path string, a, b any, out *[]Difference) {
	if len(*out) >= maxDifferences {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walk(path+"/"+escape(k), am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			walk(fmt.Sprintf("%s/%d", path, i), al[i], bl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Difference{Path: path, Recorded: a, Replayed: b})
	}
}

func escape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// WriteText prints the report for a person reading a terminal or a log.
func (r *Report) WriteText(w io.Writer) {
	for _, d := range r.Divergences {
		fmt.Fprintf(w, "DIVERGENCE %s at position %d", d.Kind, d.Position)
		if d.EventID != uuid.Nil {
			fmt.Fprintf(w, " (event %s)", d.EventID)
		}
		fmt.Fprintf(w, ": situation %s", d.Situation)
		if d.SituationKind != "" {
			fmt.Fprintf(w, " (%s)", d.SituationKind)
		}
		if d.Step != "" {
			fmt.Fprintf(w, ", step %s", d.Step)
		}
		if d.Service != "" && d.Service != d.Step {
			fmt.Fprintf(w, " (service %s)", d.Service)
		}
		if d.Catalogue != "" {
			fmt.Fprintf(w, ", catalogue %s", d.Catalogue)
		}
		fmt.Fprintf(w, "\n  %s\n", d.Detail)
		for _, f := range d.Differences {
			fmt.Fprintf(w, "  %s: recorded %s, replay gives %s\n", orRoot(f.Path), show(f.Recorded), show(f.Replayed))
		}
	}
	for _, b := range r.Integrity {
		fmt.Fprintf(w, "INTEGRITY position %d: %s\n", b.Position, b.Detail)
	}
	for _, u := range r.Unverifiable {
		fmt.Fprintf(w, "UNVERIFIABLE %d decision(s) of catalogue %s (hash %s), e.g. situation %s: %s\n",
			u.Decisions, u.Version, u.Hash, u.Example, u.Reason)
	}
	for _, c := range r.Catalogues {
		state := "supplied"
		if !c.Supplied {
			state = "NOT supplied"
		}
		pub := "published in the log"
		if !c.Published {
			pub = "not published in the log"
		}
		fmt.Fprintf(w, "catalogue %s (hash %s): %s, %s, %d decision(s) verified\n", c.Version, c.Hash, pub, state, c.Verified)
	}
	if r.RegisterPersons > 0 || r.FactsLeft > 0 {
		fmt.Fprintf(w, "register: folded the facts of %d person(s), those the decisions name and their kin; %d fact(s) of others chained, not folded (--every-fact folds them)\n",
			r.RegisterPersons, r.FactsLeft)
	}
	chain := "hash chain: checked, intact"
	switch {
	case !r.ChainChecked:
		chain = "hash chain: NOT checked (" + r.ChainNote + ")"
	case len(r.Integrity) > 0:
		chain = fmt.Sprintf("log integrity: %d break(s)", len(r.Integrity))
	}
	unverified := 0
	for _, u := range r.Unverifiable {
		unverified += u.Decisions
	}
	fmt.Fprintf(w, "%d events to position %d, %d situations, %d decisions: %d verified, %d unverifiable, %d divergence(s); %s; %.0f events/s\n",
		r.Events, r.LastPosition, r.Situations, r.Decisions, r.Verified, unverified, len(r.Divergences), chain, r.EventsPerSec)
}

func orRoot(p string) string {
	if p == "" {
		return "(whole)"
	}
	return p
}

func show(v any) string {
	if v == nil {
		return "nothing"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
