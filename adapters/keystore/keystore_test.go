package keystore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"lifesituations/adapters/keystore"
	"lifesituations/domain/personaldata"
)

func open(t *testing.T, dir string, opts ...keystore.Option) *keystore.Store {
	t.Helper()
	s, err := keystore.Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnsureLookupErase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, keystore.WithCacheSize(2))
	if _, err := s.Lookup(ctx, "a"); !errors.Is(err, personaldata.ErrNoKey) {
		t.Fatalf("lookup of an unknown person: %v", err)
	}
	if err := s.Erase(ctx, "a"); !errors.Is(err, personaldata.ErrNoKey) {
		t.Fatalf("erase of an unknown person: %v", err)
	}
	keys, err := s.Ensure(ctx, []string{"a", "b", "a", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || bytes.Equal(keys["a"].Secret, keys["b"].Secret) || len(keys["a"].Secret) != personaldata.KeySize {
		t.Fatalf("keys: %v", keys)
	}
	again, err := s.Ensure(ctx, []string{"a"})
	if err != nil || !bytes.Equal(again["a"].Secret, keys["a"].Secret) {
		t.Fatalf("a second Ensure made another key: %v", err)
	}
	// Reopening flushes the log into a table file: the key is then where
	// erasure must reach.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if !inTables(t, dir, keys["b"].Secret) {
		t.Fatal("the key is in no table file before erasure: the test would check nothing")
	}
	if err := s.Erase(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, "b"); err != nil {
		t.Fatalf("erasing twice: %v", err)
	}
	// Ensure never brings an erased person's key back.
	if k, err := s.Ensure(ctx, []string{"b"}); err != nil || !k["b"].Erased || k["b"].Secret != nil {
		t.Fatalf("ensure after erasure: %v %v", k, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	for p, want := range map[string][]byte{"a": keys["a"].Secret, "c": keys["c"].Secret} {
		k, err := s.Lookup(ctx, p)
		if err != nil || !bytes.Equal(k.Secret, want) {
			t.Fatalf("%s after reopening: %v", p, err)
		}
	}
	if k, err := s.Lookup(ctx, "b"); err != nil || !k.Erased {
		t.Fatalf("b after reopening: %+v %v", k, err)
	}
	// The erased key's bytes are in no table file (what the compaction is
	// for); the write-ahead log may still hold them until recycled.
	if inTables(t, dir, keys["b"].Secret) {
		t.Fatal("a table file still holds the erased key")
	}
	if !inTables(t, dir, keys["a"].Secret) {
		t.Fatal("the other keys are gone from the table files")
	}
}

func inTables(t *testing.T, dir string, secret []byte) bool {
	t.Helper()
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	for _, f := range ssts {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, secret) {
			return true
		}
	}
	return false
}

// TestKeyDurableWhenEnsureReturns kills a process right after Ensure
// returned: the key it gave must be the one found after the crash.
func TestKeyDurableWhenEnsureReturns(t *testing.T) {
	if dir := os.Getenv("KEYSTORE_CRASH_DIR"); dir != "" {
		s, err := keystore.Open(dir)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		keys, err := s.Ensure(context.Background(), []string{"p"})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("key", hex.EncodeToString(keys["p"].Secret))
		_ = os.Stdout.Sync()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyDurableWhenEnsureReturns$")
	cmd.Env = append(os.Environ(), "KEYSTORE_CRASH_DIR="+dir)
	out, _ := cmd.Output()
	line := strings.TrimSpace(string(out))
	given, ok := strings.CutPrefix(line, "key ")
	if !ok {
		t.Fatalf("child: %q", out)
	}
	s := open(t, dir)
	defer s.Close()
	k, err := s.Lookup(context.Background(), "p")
	if err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	if hex.EncodeToString(k.Secret) != given {
		t.Fatal("after the crash the key differs from the one Ensure returned")
	}
}

// Creators racing over the same persons agree on one key each, with a
// cache too small to remember them (so each must find the others' keys
// where they are stored).
func TestConcurrentEnsureAgrees(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), keystore.WithCacheSize(4))
	defer s.Close()
	const creators, persons = 8, 200
	got := make([]map[string]personaldata.Key, creators)
	errs := make(chan error, creators)
	for c := range creators {
		go func() {
			var ids []string
			for p := range persons {
				ids = append(ids, fmt.Sprintf("p%03d", (p+c*37)%persons))
			}
			var err error
			got[c], err = s.Ensure(ctx, ids)
			errs <- err
		}()
	}
	for range creators {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for p := range persons {
		id := fmt.Sprintf("p%03d", p)
		stored, err := s.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for c := range creators {
			if !bytes.Equal(got[c][id].Secret, stored.Secret) {
				t.Fatalf("creator %d got another key for %s than the one stored", c, id)
			}
		}
	}
}

// TestLookupGivesReadyKeysUntilErased: a key looked up comes with its
// cipher (kept among the keys used lately), and reads as erased as soon as
// it is erased, whichever of the caches held it.
func TestLookupGivesReadyKeysUntilErased(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), keystore.WithCacheSize(4))
	defer s.Close()
	persons := []string{"a", "b", "c", "d", "e", "f"}
	keys, err := s.Ensure(ctx, persons)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range persons {
		k, err := s.Lookup(ctx, p)
		if err != nil || !k.HasCipher() || !bytes.Equal(k.Secret, keys[p].Secret) {
			t.Fatalf("lookup of %s: %v %v", p, k.HasCipher(), err)
		}
	}
	for _, p := range persons {
		if err := s.Erase(ctx, p); err != nil {
			t.Fatal(err)
		}
		if k, err := s.Lookup(ctx, p); err != nil || !k.Erased || k.Secret != nil {
			t.Fatalf("lookup of %s after its erasure: %+v %v", p, k, err)
		}
	}
}

func TestAllGivesEveryKeyAndErasureAsLookupDoes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	persons := []string{"a", "b", "c", "d", "e", "0", "k", "~"}
	if _, err := s.Ensure(ctx, persons); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, so that the keys come from the tables and the log both.
	s = open(t, dir)
	defer s.Close()
	if _, err := s.Ensure(ctx, []string{"f"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != len(persons)+1 {
		t.Fatalf("All gave %d keys, want %d", all.Len(), len(persons)+1)
	}
	for _, p := range append(persons, "f") {
		want, err := s.Lookup(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := all.Key(p)
		if !ok || got.Erased != want.Erased || !bytes.Equal(got.Secret, want.Secret) {
			t.Fatalf("All's key of %s: %+v, Lookup's: %+v", p, got, want)
		}
		if (p == "c") != got.Erased {
			t.Fatalf("All's key of %s: erased %v", p, got.Erased)
		}
	}
	// Each secret is its own: sealing with one key and opening with
	// another fails.
	a, _ := all.Key("a")
	b, _ := all.Key("b")
	sealed, err := personaldata.Seal(a, "a", []byte(`"Anna"`), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := personaldata.Open(b, sealed); err == nil {
		t.Fatal("b's key from All opened a's value")
	}
	if owner, v, err := personaldata.Open(a, sealed); err != nil || owner != "a" || string(v) != `"Anna"` {
		t.Fatalf("a's key from All: %s %s %v", owner, v, err)
	}
}

// Read only (an auditor's verification), the store gives the keys a server
// left and makes or erases none.
func TestReadOnlyReadsAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	keys, err := s.Ensure(ctx, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro := open(t, dir, keystore.ReadOnly())
	defer ro.Close()
	if k, err := ro.Lookup(ctx, "a"); err != nil || !bytes.Equal(k.Secret, keys["a"].Secret) {
		t.Fatalf("lookup read only: %v", err)
	}
	if _, err := ro.Ensure(ctx, []string{"b"}); err == nil {
		t.Error("a read-only store made a key")
	}
	if err := ro.Erase(ctx, "a"); err == nil {
		t.Error("a read-only store erased a key")
	}
	if k, err := ro.Lookup(ctx, "a"); err != nil || !bytes.Equal(k.Secret, keys["a"].Secret) {
		t.Fatalf("lookup after the refused erasure: %v", err)
	}
	if _, err := keystore.Open(t.TempDir()+"/none", keystore.ReadOnly()); err == nil {
		t.Error("a read-only open of no key store succeeded")
	}
}
