package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestServeDemo runs the README's first command and looks at the cabinets
// it prints tokens for, as a newcomer would.
func TestServeDemo(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--data", data}, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("server stopped: %v", err))
		done <- err
	}()
	t.Cleanup(func() { cancel(); <-done })

	// The server prints its address, then a token per demo citizen.
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	people := map[string]string{} // person id -> token
	var last string
	deadline := time.After(60 * time.Second)
	for len(people) < 5 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the server stopped before printing the demo tokens; last line %q", last)
			}
			last = line
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				addr = a
			}
			if strings.HasPrefix(line, "demo citizen ") {
				id := line[strings.Index(line, "(")+1 : strings.Index(line, ")")]
				tok, ok := <-lines
				if !ok || !strings.Contains(tok, "TOKEN=") {
					t.Fatalf("no token after %q", line)
				}
				people[id] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tok), "TOKEN="))
			}
		case <-deadline:
			t.Fatalf("no demo tokens within 60s; last line %q", last)
		}
	}
	s := &server{url: "http://" + addr, data: data}

	look := func(person string) citizen { return signIn(t, s, person) }
	maria := look("d0000000-0000-4000-8000-000000000001").stepsOf("birth-of-child")
	if maria["birth-certificate"].Outcome != "granted" || maria["child-health-insurance"].Outcome != "drafted" {
		t.Errorf("Maria's bundle: %+v", maria)
	}
	elena := look("d0000000-0000-4000-8000-000000000003").stepsOf("birth-of-child")
	if elena["maternity-capital"].Outcome != "granted" || elena["child-allowance"].Outcome != "drafted" {
		t.Errorf("Elena's bundle: %+v", elena)
	}
	aigerim := look("d0000000-0000-4000-8000-000000000004").stepsOf("birth-of-child")
	if mc := aigerim["maternity-capital"]; mc.Outcome != "rejected" || len(mc.Reasons) == 0 {
		t.Errorf("Aigerim's maternity capital: %+v", mc)
	}
	olga := look("d0000000-0000-4000-8000-000000000005").stepsOf("age-milestone")
	if olga["passport-replacement"].Outcome != "drafted" || olga["passport-replacement"].Deadline == "" {
		t.Errorf("Olga's milestone: %+v", olga)
	}
	ivan := look("d0000000-0000-4000-8000-000000000006").stepsOf("age-milestone")
	if ivan["passport-issue"].Outcome != "drafted" {
		t.Errorf("Ivan's milestone: %+v", ivan)
	}
	// The printed token itself opens the cabinet.
	for id, tok := range people {
		if r := do(t, "GET", s.url+"/v1/me/situations", tok, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"kind"`) {
			t.Errorf("%s's printed token: %d %s", id, r.status, r.body)
		}
	}
}
