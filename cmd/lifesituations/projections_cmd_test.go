package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProjectionsRebuildSwitchesToFilesFoldedFromTheLog(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := startServer(t, "--clock", "manual", "--clock-start", start.Format(time.RFC3339))
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	setClock(t, s, t0)
	mother := personID(1)
	send(t, s, population,
		registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, s, civilStatus, born("birth-1", personID(11), mother, "2026-03-05", "770-2026-000001", t0))
	setClock(t, s, t0.Add(time.Hour))
	before := signIn(t, s, mother)
	grants, drafts := len(before.grants()), len(before.drafts())
	if grants == 0 || drafts == 0 {
		t.Fatalf("nothing to rebuild: %d grants, %d drafts", grants, drafts)
	}

	// While the server runs, the store is its own: the rebuild says so.
	err := run(context.Background(), []string{"projections", "rebuild", "--data", s.data, "--lock-wait", "100ms"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("rebuild beside a running server: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	oldInfo, err := os.Stat(filepath.Join(s.data, cabinetFile))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"projections", "rebuild", "--data", s.data}, &out, io.Discard); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "switched to the rebuilt read models") {
		t.Fatalf("rebuild says: %s", out.String())
	}
	for _, f := range []string{registerFile, cabinetFile} {
		for _, leftover := range []string{f + ".rebuild", f + ".old"} {
			if _, err := os.Stat(filepath.Join(s.data, leftover)); err == nil {
				t.Errorf("%s left behind", leftover)
			}
		}
	}
	newInfo, err := os.Stat(filepath.Join(s.data, cabinetFile))
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(oldInfo, newInfo) {
		t.Fatal("cabinet.db was not replaced")
	}
	// The server starts on the rebuilt files and shows the same cabinet.
	s2 := restart(t, s, "--clock", "manual")
	after := signIn(t, s2, mother)
	if len(after.grants()) != grants || len(after.drafts()) != drafts {
		t.Fatalf("after the rebuild: %d grants, %d drafts; before: %d, %d", len(after.grants()), len(after.drafts()), grants, drafts)
	}
}
