package main

import (
	"testing"
	"time"
)

// TestOnlineBackupRestores takes a backup of a serving server through the
// operator's endpoint, then starts a server on the backup alone: the
// read models are rebuilt from the log and the mother sees her bundle.
func TestOnlineBackupRestores(t *testing.T) {
	s := startServer(t, "--clock", "manual", "--clock-start", "2026-03-10T09:00:00Z")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	mother, child := personID(51), personID(52)
	send(t, s, population, registered(mother, "Иванова", "Мария", "1994-03-01", "F", "RU", "RU-MOW", "Europe/Moscow", "Москва, ул. Тверская, д. 1, кв. 5", t0))
	send(t, s, civilStatus, born("backup-birth", child, mother, "2026-03-05", "770-2026-000051", t0))
	setClock(t, s, t0.Add(time.Minute))

	if r := do(t, "POST", s.url+"/v1/ops/backup", devToken(t, s, "citizen", mother), "", nil); r.status != 403 {
		t.Errorf("a citizen asking for a backup: want 403, got %d", r.status)
	}
	r := do(t, "POST", s.url+"/v1/ops/backup", devToken(t, s, "operator", "ops"), "", nil)
	if r.status != 201 {
		t.Fatalf("backup: %d %s", r.status, r.body)
	}
	dir, _ := r.json(t)["dir"].(string)
	if dir == "" {
		t.Fatalf("backup answered no directory: %s", r.body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	restored := restart(t, &server{data: dir}, "--clock", "manual", "--clock-start", "2026-03-10T09:01:00Z")
	steps := signIn(t, restored, mother).stepsOf("birth-of-child")
	if len(steps) != 7 || steps["maternity-capital"].Outcome != "granted" {
		t.Errorf("after restoring the backup: %+v", steps)
	}
}
