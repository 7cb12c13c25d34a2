package register_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/projections/derived/derivedtest"
	"lifesituations/projections/register"
)

// A marker left by another boot means unsynced pages may be lost: the file
// is deleted and folded again from the log.
func TestFileOfAnotherBootIsFoldedAgain(t *testing.T) {
	f := newFixture(t)
	id := uuid.New()
	f.register(id, "Ivanova", "Anna", "1990-01-01", "F", "RU")
	pos := f.reg.Position()
	f.stop()
	path := filepath.Join(f.dir, "register.db")
	if err := os.WriteFile(path+".unsynced", []byte("another boot"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.open(f.store)
	if got := f.reg.Position(); got != 0 {
		t.Fatalf("position after a crash of another boot = %d, want 0 (folded again)", got)
	}
	if err := f.reg.WaitFor(context.Background(), pos); err != nil {
		t.Fatal(err)
	}
	if p := f.person(id); p.GivenName != "Anna" {
		t.Fatalf("refolded person = %+v", p)
	}
}

// A checkpoint ahead of the store (a store restored from an older backup)
// empties the register, which folds the store it has.
func TestCheckpointAheadOfTheLogFoldsAgain(t *testing.T) {
	f := newFixture(t)
	gone := uuid.New()
	f.register(gone, "Ivanova", "Anna", "1990-01-01", "F", "RU")
	f.register(uuid.New(), "Ivanov", "Petr", "1991-01-01", "M", "RU")
	f.stop()
	older, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = older.Close() })
	f.store = older
	began := time.Now()
	f.open(older)
	for f.reg.Position() != 0 { // Run empties it when it starts
		if time.Since(began) > 10*time.Second {
			t.Fatalf("position %d ahead of an empty log was kept", f.reg.Position())
		}
		time.Sleep(time.Millisecond)
	}
	kept := uuid.New()
	f.register(kept, "Sidorova", "Olga", "1992-01-01", "F", "RU")
	if _, ok := f.reg.Facts(gone.String()); ok {
		t.Fatal("a person of the lost log is still in the register")
	}
	if p := f.person(kept); p.GivenName != "Olga" {
		t.Fatalf("person = %+v", p)
	}
}

// The file takes folded batches behind the readers, who see them at once
// (derived.Pending): a crash before it has taken them loses nothing, since
// the fold reads again what the file's checkpoint lacks.
func TestACrashBeforeTheCommitLosesNothing(t *testing.T) {
	f := newFixture(t)
	f.opts = []register.Option{register.WithCommitEvery(time.Hour)}
	f.stop()
	f.open(f.store)
	mother, child := uuid.New(), uuid.New()
	f.register(mother, "Ivanova", "Anna", "1990-01-01", "F", "RU")
	f.birth(child, mother, nil, "2026-02-20")
	pos := f.reg.Position()
	want := f.reg.Family(child.String())

	// The process dies.
	crashed := &fixture{t: t, dir: t.TempDir(), store: f.store}
	derivedtest.CopyAsCrashed(t, f.dir, crashed.dir, "register.db")
	crashed.open(f.store)
	if got := crashed.reg.Position(); got >= pos {
		t.Fatalf("the file was at %d, not behind what readers saw (%d): nothing was pending", got, pos)
	}
	if err := crashed.reg.WaitFor(context.Background(), pos); err != nil {
		t.Fatal(err)
	}
	if got := crashed.reg.Family(child.String()); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Fatalf("after the crash the child's family is %+v, before it %+v", got, want)
	}
}

// Run has the file take the folded batches as it goes, not only at Close,
// so that a crash leaves little to fold again.
func TestRunCommitsToTheFileWhileItRuns(t *testing.T) {
	f := newFixture(t)
	f.opts = []register.Option{register.WithCommitEvery(10 * time.Millisecond)}
	f.stop()
	f.open(f.store)
	f.register(uuid.New(), "Ivanova", "Anna", "1990-01-01", "F", "RU")
	pos := f.reg.Position()
	began := time.Now()
	for {
		// The file as a crash now would leave it.
		dir := t.TempDir()
		derivedtest.CopyAsCrashed(t, f.dir, dir, "register.db")
		reg, err := register.OpenProjection(filepath.Join(dir, "register.db"))
		if err != nil {
			t.Fatal(err)
		}
		got := reg.Position()
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
		if got >= pos {
			return
		}
		if time.Since(began) > 10*time.Second {
			t.Fatalf("the file is at %d after 10 s, readers at %d: Run does not commit", got, pos)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
