package brokeringest

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/adapters/httpapi/problem"
)

func TestBackoffDoublesUpToItsMaximum(t *testing.T) {
	b := backoff{first: time.Second, max: 5 * time.Second}
	for delivered, want := range map[uint64]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 1000: 5 * time.Second} {
		if got := b.WaitTime(delivered); got != want {
			t.Errorf("WaitTime(%d) = %v, want %v", delivered, got, want)
		}
	}
}

func TestReasonTextStaysOnOneBoundedLine(t *testing.T) {
	p := problem.Validation("the events at index 0, 1 are invalid;\nnothing was stored", nil)
	for range 200 {
		p.Errors = append(p.Errors, problem.FieldError{Pointer: "/0/data/birth_date", Detail: "birth_date 2027-01-01\r\nis in the future"})
	}
	got := reasonText(p, 512)
	if len(got) > 512 || strings.ContainsAny(got, "\r\n") {
		t.Fatalf("reason of %d bytes: %q", len(got), got)
	}
	if !strings.HasPrefix(got, "the events at index 0, 1 are invalid; nothing was stored: /0/data/birth_date: birth_date 2027-01-01  is in the future; ") ||
		!strings.Contains(got, "more") {
		t.Fatalf("reason %q", got)
	}
}

func TestDeadLetterFitsTheBrokersMaxPayload(t *testing.T) {
	const limit = 64 << 10
	p := problem.Validation("the events at index 0, 1, 2 are invalid; nothing was stored", nil)
	for range 1000 {
		p.Errors = append(p.Errors, problem.FieldError{Pointer: "/0/data/birth_date", Detail: "birth_date 2027-01-01 is in the future"})
	}
	letter := func(payload int) *message.Message {
		m := message.NewMessage("S-1", make([]byte, payload))
		m.Metadata.Set("Content-Type", "application/cloudevents-batch+json")
		m.Metadata.Set(HeaderReason, reasonText(p, maxReasonBytes))
		fit(m, p, limit)
		if size := len(m.Payload) + headerBytes(m.Metadata); size > limit {
			t.Fatalf("payload %d: dead letter of %d bytes over the limit %d", payload, size, limit)
		}
		return m
	}
	small := letter(1 << 10)
	var got problem.Problem
	if err := json.Unmarshal([]byte(small.Metadata.Get(HeaderProblem)), &got); err != nil || len(got.Errors) == 0 || len(got.Errors) == len(p.Errors) {
		t.Fatalf("small payload: problem with %d of %d errors (%v); want the ones that fit in %d bytes", len(got.Errors), len(p.Errors), err, maxProblemBytes)
	}
	near := letter(limit - 1500)
	if near.Metadata.Get(HeaderPayloadDropped) != "" || len(near.Payload) != limit-1500 || len(near.Metadata.Get(HeaderReason)) < minReasonBytes {
		t.Fatalf("near the limit: payload %d, reason %q", len(near.Payload), near.Metadata.Get(HeaderReason))
	}
	over := letter(limit)
	if over.Metadata.Get(HeaderPayloadDropped) != strconv.Itoa(limit) || len(over.Payload) != 0 || over.Metadata.Get(HeaderReason) == "" {
		t.Fatalf("at the limit: payload %d, headers %v", len(over.Payload), over.Metadata)
	}
}
