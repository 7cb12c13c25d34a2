package cabinet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
	"lifesituations/domain/situation"
)

// openWithCache opens a cabinet in a new directory whose fold keeps at most
// max situations between batches (a nil cache when max < 0).
func openWithCache(t *testing.T, max int) *Cabinet {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cabinet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.cache = nil
	if max >= 0 {
		c.cache = newFoldCache(max)
	}
	return c
}

// applyIn folds events in batches of size.
func applyIn(t *testing.T, c *Cabinet, events []eventstore.RecordedEvent, size int) {
	t.Helper()
	for i := 0; i < len(events); i += size {
		if err := c.apply(events[i:min(i+size, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
}

// contents is every bucket of the cabinet's file, key and value.
func contents(t *testing.T, c *Cabinet) string {
	t.Helper()
	var out bytes.Buffer
	err := c.model.DB().View(func(tx *bolt.Tx) error {
		for _, name := range fileLayout.Buckets {
			if err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&out, "%s %x %s\n", name, k, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// eventAt is a situation event recorded at pos.
func eventAt(t *testing.T, sit uuid.UUID, pos eventstore.Position, typ string, data any) eventstore.RecordedEvent {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.RecordedEvent{Event: eventstore.Event{ID: uuid.NewSHA1(sit, fmt.Append(nil, pos)), Type: typ, Data: raw},
		Stream: situation.Stream(sit), Position: pos}
}

// lifeOf is what follows the openings of events' situations: a reminder,
// a confirmation and a rating of each draft, then the erasure of the first
// draft's applicant and their new rating of its situation.
func lifeOf(t *testing.T, events []eventstore.RecordedEvent) []eventstore.RecordedEvent {
	t.Helper()
	pos := events[len(events)-1].Position
	next := func() eventstore.Position { pos++; return pos }
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	var out []eventstore.RecordedEvent
	var erased string
	var first uuid.UUID
	for _, e := range events {
		var d situation.StepDecided
		if e.Type != situation.TypeStepDecided || json.Unmarshal(e.Data, &d) != nil || d.Decision.Editable == nil {
			continue
		}
		if erased == "" {
			erased, first = d.Decision.Applicant, d.SituationID
		}
		sit := d.SituationID
		out = append(out,
			eventAt(t, sit, next(), situation.TypeDraftReminded, situation.DraftReminded{SituationID: sit, DraftID: d.StepID, Due: "2026-08-21", Deadline: "2026-08-28", At: at}),
			eventAt(t, sit, next(), situation.TypeDraftConfirmed, situation.DraftConfirmed{SituationID: sit, DraftID: d.StepID,
				Fields: map[string]any{"bank_account": "40817"}, By: d.Decision.Applicant, At: at}),
			eventAt(t, sit, next(), situation.TypeRated, situation.Rated{SituationID: sit, Score: 4, Comment: "ok", By: d.Decision.Applicant, At: at}))
	}
	erase := eventAt(t, uuid.Nil, next(), personaldata.TypeErased, personaldata.Erased{PersonID: erased, ErasedAt: at})
	erase.Stream = "person-" + erased
	return append(out, erase,
		eventAt(t, first, next(), situation.TypeRated, situation.Rated{SituationID: first, Score: 5, By: erased, At: at}))
}

// TestCachedFoldIsTheStoredLogsFold: situations kept between batches (all
// of them, or two, evicting the others) fold into the very bytes a fold
// reading every situation back from its stored log writes.
func TestCachedFoldIsTheStoredLogsFold(t *testing.T) {
	var events []eventstore.RecordedEvent
	for i := range 12 {
		events = append(events, burstSituation(t, i, eventstore.Position(len(events)+1))...)
	}
	events = append(events, lifeOf(t, events)...)
	want := openWithCache(t, -1)
	applyIn(t, want, events, 5)
	for _, max := range []int{0, 2, 1000} {
		got := openWithCache(t, max)
		applyIn(t, got, events, 5)
		if g, w := contents(t, got), contents(t, want); g != w {
			t.Errorf("cache of %d: the file differs from the stored logs' fold:\n%s\nwant\n%s", max, g, w)
		}
	}
}

// TestFailedBatchLeavesNoCachedFold: a batch that fails after folding a
// cached situation in place leaves the cache as if it had never run.
func TestFailedBatchLeavesNoCachedFold(t *testing.T) {
	opening := burstSituation(t, 0, 1)
	var draft situation.StepDecided
	for _, e := range opening {
		var d situation.StepDecided
		if e.Type == situation.TypeStepDecided && json.Unmarshal(e.Data, &d) == nil && d.Decision.Editable != nil {
			draft = d
			break
		}
	}
	sit := draft.SituationID
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	last := opening[len(opening)-1].Position
	decline := eventAt(t, sit, last+1, situation.TypeDraftDeclined, situation.DraftDeclined{SituationID: sit, DraftID: draft.StepID, By: draft.Decision.Applicant, At: at})
	unknown := eventAt(t, sit, last+2, situation.TypeDraftConfirmed, situation.DraftConfirmed{SituationID: sit, DraftID: uuid.New(), At: at})

	want := openWithCache(t, -1)
	applyIn(t, want, append(opening, decline), len(opening))
	got := openWithCache(t, 10)
	applyIn(t, got, opening, len(opening))
	if err := got.apply([]eventstore.RecordedEvent{decline, unknown}); err == nil {
		t.Fatal("a confirmation of an unknown draft folded")
	}
	applyIn(t, got, []eventstore.RecordedEvent{decline}, 1)
	if g, w := contents(t, got), contents(t, want); g != w {
		t.Errorf("after a failed batch:\n%s\nwant\n%s", g, w)
	}
}

// TestCacheIsOfOneFile: a batch on another file (a rebuild's, once
// switched) does not use what the cache kept of the first.
func TestCacheIsOfOneFile(t *testing.T) {
	c := openWithCache(t, 10)
	other, err := bolt.Open(filepath.Join(t.TempDir(), "other.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	f := newFolded(uuid.New())
	c.cache.on(c.model.DB())
	c.cache.keep([]*folded{f})
	c.cache.on(other)
	if _, ok := c.cache.get(f.id); ok {
		t.Error("the cache kept a situation of another file")
	}
}
