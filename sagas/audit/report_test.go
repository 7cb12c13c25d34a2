package audit

import (
	"strings"
	"testing"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
)

func TestDiffNamesEachFieldByPointer(t *testing.T) {
	got := diff([]byte(`{"outcome":"granted","prefill":{"amount":1,"a/b":2},"reasons":[{"rule":"x"}]}`),
		[]byte(`{"outcome":"rejected","prefill":{"amount":1,"a/b":3},"reasons":[{"rule":"y"}]}`))
	var paths []string
	for _, d := range got {
		paths = append(paths, d.Path)
	}
	if strings.Join(paths, " ") != "/outcome /prefill/a~1b /reasons/0/rule" {
		t.Fatalf("paths: %v", paths)
	}
	if !sameJSON([]byte(`{"a":1,"b":[1,2]}`), []byte(`{"b":[1,2],"a":1.0}`)) {
		t.Fatal("equal JSON values differ")
	}
}

func TestBatchesAreTheRunsOfASagaCommand(t *testing.T) {
	ev := func(pos eventstore.Position, stream, typ string) *eventstore.RecordedEvent {
		return &eventstore.RecordedEvent{Event: eventstore.Event{Type: typ}, Stream: stream, Position: pos}
	}
	var b batchState
	steps := []struct {
		e      *eventstore.RecordedEvent
		leader string
		pos    eventstore.Position
	}{
		{ev(1, "situation-a", situation.TypeOpened), situation.TypeOpened, 1},
		{ev(2, "situation-a", situation.TypeStepDecided), situation.TypeOpened, 1},
		{ev(3, "situation-a", situation.TypeStepDecided), situation.TypeOpened, 1},
		// Another stream's event ends the batch.
		{ev(4, "person-x", "person.registered"), "person.registered", 4},
		{ev(5, "situation-a", situation.TypeStepDecided), situation.TypeStepDecided, 5},
		{ev(6, "situation-a", situation.TypeDraftConfirmed), situation.TypeDraftConfirmed, 6},
		{ev(7, "situation-a", situation.TypeStepDecided), situation.TypeDraftConfirmed, 6},
		// A gap in positions ends it too.
		{ev(9, "situation-a", situation.TypeStepDecided), situation.TypeStepDecided, 9},
		{ev(10, "situation-a", situation.TypeDraftReminded), situation.TypeDraftReminded, 10},
		{ev(11, "situation-a", situation.TypeStepDecided), situation.TypeStepDecided, 11},
	}
	for _, s := range steps {
		leader, pos := b.next(s.e)
		if leader != s.leader || pos != s.pos {
			t.Fatalf("position %d: batch led by %s at %d, want %s at %d", s.e.Position, leader, pos, s.leader, s.pos)
		}
	}
}
