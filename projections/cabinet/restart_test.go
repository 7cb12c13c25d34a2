package cabinet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/derived/derivedtest"
)

// snapshot is everything the persons of the tests see, as JSON.
func (f *fixture) snapshot() string {
	f.t.Helper()
	out := map[string]any{}
	for _, p := range []string{mother, father, child, adultSon, stranger} {
		d, err1 := f.cab.Drafts(p)
		g, err2 := f.cab.Grants(p)
		s, err3 := f.cab.Situations(p)
		n, err4 := f.cab.Notifications(p)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				f.t.Fatal(err)
			}
		}
		out[p] = []any{d, g, s, n}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(raw)
}

func TestRestartsFromItsCheckpointWithoutDoubles(t *testing.T) {
	f := newFixture(t)
	b := newBirth("birth-restart")
	f.openSituation(b.opened(), b.steps()...)
	openMove(f)
	before, pos := f.snapshot(), f.cab.Position()

	f.reopen()
	if got := f.cab.Position(); got != pos {
		t.Fatalf("reopened at %d, want the checkpoint %d", got, pos)
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("reopening changed what citizens see:\nbefore %s\nafter  %s", before, after)
	}

	// Events stored while the cabinet is down are folded, once, on restart:
	// several events of one stored situation in one batch.
	f.stop()
	allowance, residence := stepID(b.id, b.allowance), stepID(b.id, b.residence)
	st := foldStream(t, f.store, b.id)
	f.later(time.Hour)
	recs, err := st.Decline(allowance, "", mother, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	more, err := st.Confirm(residence, nil, mother, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	last := appendRecords(t, f.store, b.id, eventstore.Exact(5), append(recs, more...))
	f.open()
	f.wait(last)

	notes, _ := f.cab.Notifications(mother)
	if len(notes) != 7 || notes[0].Outcome != situation.OutcomeSubmitted || notes[1].Outcome != situation.OutcomeDeclined {
		t.Fatalf("notifications after the restart = %+v", notes)
	}
	drafts, _ := f.cab.Drafts(mother)
	if len(drafts) != 2 {
		t.Fatalf("drafts after the restart = %+v", drafts)
	}
	for _, d := range drafts {
		if d.Status == situation.StatusOpen {
			t.Errorf("draft %s still open after the restart", d.Service)
		}
	}
	snap := f.snapshot()
	f.reopen()
	if again := f.snapshot(); again != snap {
		t.Fatalf("a second restart changed what citizens see")
	}
}

// The file takes folded batches behind the readers, who see them at once
// (derived.Pending): a crash before it has taken them loses nothing, since
// the fold reads again what the file's checkpoint lacks.
func TestACrashBeforeTheCommitLosesNothing(t *testing.T) {
	f := newFixture(t)
	f.opts = []cabinet.Option{cabinet.WithCommitEvery(time.Hour)}
	f.reopen()
	b := newBirth("birth-crash")
	f.openSituation(b.opened(), b.steps()...)
	openMove(f)
	before, pos := f.snapshot(), f.cab.Position()

	// The process dies.
	crashed := &fixture{t: t, dir: t.TempDir(), clock: f.clock, store: f.store}
	derivedtest.CopyAsCrashed(t, f.dir, crashed.dir, "cabinet.db")
	crashed.open()
	if got := crashed.cab.Position(); got >= pos {
		t.Fatalf("the file was at %d, not behind what readers saw (%d): nothing was pending", got, pos)
	}
	crashed.wait(pos)
	if after := crashed.snapshot(); after != before {
		t.Fatalf("after the crash citizens see:\n%s\nbefore it:\n%s", after, before)
	}
}

func TestEventsOfOtherStreamsMoveThePosition(t *testing.T) {
	f := newFixture(t)
	res, err := f.store.Append(context.Background(), "person-"+mother, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: []byte(`{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.wait(res.Position)
	// Such events are not worth a transaction of their own: a restart may
	// read them again, and still reaches their position.
	f.reopen()
	f.wait(res.Position)
}

func foldStream(t *testing.T, store eventstore.Store, sit uuid.UUID) *situation.State {
	t.Helper()
	events, err := store.ReadStream(context.Background(), situation.Stream(sit), 0, eventstore.Forwards, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var st situation.State
	for _, e := range events {
		if err := st.Apply(e.Type, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	return &st
}

func appendRecords(t *testing.T, store eventstore.Store, sit uuid.UUID, expected eventstore.ExpectedRevision, recs []situation.Record) eventstore.Position {
	t.Helper()
	events := make([]eventstore.Event, len(recs))
	for i, r := range recs {
		data, err := r.Payload()
		if err != nil {
			t.Fatal(err)
		}
		events[i] = eventstore.Event{ID: r.ID, Type: r.Type, SchemaVersion: 1, Data: data}
	}
	res, err := store.Append(context.Background(), situation.Stream(sit), expected, events...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// A file written with an earlier layout is emptied at open and folded
// again from the log, rather than read with keys it does not have: the
// first (a bucket per list, no layout in its meta) and the second (each
// situation's row, drafts and grants in buckets of their own, the lists'
// entries pointing to nothing).
func TestAFileOfAnEarlierLayoutIsFoldedAgain(t *testing.T) {
	stale := func(tx *bolt.Tx, names ...string) error {
		for _, name := range names {
			bk, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			if err := bk.Put([]byte(mother+"\x00stale"), []byte{1}); err != nil {
				return err
			}
		}
		return nil
	}
	layouts := map[string]func(tx *bolt.Tx) error{
		"first": func(tx *bolt.Tx) error {
			if err := tx.Bucket([]byte("meta")).Delete([]byte("layout")); err != nil {
				return err
			}
			if err := tx.DeleteBucket([]byte("people")); err != nil {
				return err
			}
			return stale(tx, "person_drafts", "person_grants", "person_situations", "notifications")
		},
		"second": func(tx *bolt.Tx) error {
			if err := tx.Bucket([]byte("meta")).Put([]byte("layout"), []byte("2")); err != nil {
				return err
			}
			people := tx.Bucket([]byte("people"))
			var lists [][]byte
			_ = people.ForEach(func(k, _ []byte) error {
				if i := bytes.IndexByte(k, 0); k[i+1] == 'd' || k[i+1] == 'g' {
					lists = append(lists, bytes.Clone(k))
				}
				return nil
			})
			for _, k := range lists {
				if err := people.Put(k, []byte{1}); err != nil {
					return err
				}
			}
			if len(lists) == 0 {
				return errors.New("no draft or grant listed")
			}
			return stale(tx, "situations", "drafts", "grants")
		},
	}
	for name, rewrite := range layouts {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			b := newBirth("birth-layout")
			f.openSituation(b.opened(), b.steps()...)
			before, pos := f.snapshot(), f.cab.Position()
			f.stop()

			path := filepath.Join(f.dir, "cabinet.db")
			rewriteFile(t, path, rewrite)

			f.open()
			f.wait(pos)
			if after := f.snapshot(); after != before {
				t.Fatalf("the file of the earlier layout was not folded again:\nbefore %s\nafter  %s", before, after)
			}
			f.stop()
			rewriteFile(t, path, func(tx *bolt.Tx) error {
				var names []string
				_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
					names = append(names, string(name))
					return nil
				})
				if want := []string{"logs", "meta", "people"}; !slices.Equal(names, want) {
					t.Errorf("buckets after the fold = %v, want %v", names, want)
				}
				if got := tx.Bucket([]byte("meta")).Get([]byte("layout")); string(got) != "3" {
					t.Errorf("layout recorded = %q, want 3", got)
				}
				return nil
			})
		})
	}
}

// rewriteFile runs fn in a write transaction on the closed cabinet's file.
func rewriteFile(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}
