package brokeringest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"lifesituations/adapters/httpapi/problem"
	"lifesituations/adapters/ingest"
	"lifesituations/domain/lifeevent"
)

// Headers of a dead letter, besides the refused message's own headers; its
// payload is the refused message's payload, unchanged.
const (
	// HeaderReason says in words why the message was refused: the
	// problem's detail and its first field errors.
	HeaderReason = "Dead-Letter-Reason"
	// HeaderProblem is the RFC 9457 problem (JSON) that POST /v1/events
	// would have answered, with an errors array of pointers into the
	// payload (shortened when long; HeaderReason is always there).
	HeaderProblem = "Dead-Letter-Problem"
	// HeaderStatus is that problem's HTTP status: 400, 403, 413 or 415.
	HeaderStatus = "Dead-Letter-Status"
	// HeaderReasons are the machine reasons, comma-separated (e.g.
	// unknown_person,future_date, source_mismatch, not_owner).
	HeaderReasons = "Dead-Letter-Reasons"
	// HeaderSubject, HeaderStream and HeaderSequence say where the refused
	// message was; HeaderDeliveries how often it was delivered.
	HeaderSubject    = "Dead-Letter-Subject"
	HeaderStream     = "Dead-Letter-Stream"
	HeaderSequence   = "Dead-Letter-Sequence"
	HeaderDeliveries = "Dead-Letter-Deliveries"
	// HeaderTime is when it was refused (RFC 3339).
	HeaderTime = "Dead-Letter-Time"
	// HeaderPayloadDropped, present only when the payload did not fit
	// beside the headers under the broker's max_payload, is its size.
	HeaderPayloadDropped = "Dead-Letter-Payload-Dropped"
)

// unknownRegistry stands for the registry in the dead-letter subject of a
// message whose subject names none (the stream holds subjects outside the
// pattern).
const unknownRegistry = "unknown"

// handle takes one message to the ingest core. Stored (or recognised as a
// resend): nil, and the router acknowledges it, after the durable append.
// Refused for what it is: it is published to the dead letters and then
// acknowledged, so the messages after it keep flowing. Not stored for a
// passing reason (the store overloaded or closed, a person not registered
// yet): it is refused with a delay and comes again; nothing is lost.
func (g *Ingest) handle(msg *message.Message) error {
	start := time.Now()
	defer func() { g.metrics.seconds.Observe(time.Since(start).Seconds()) }()

	subject := msg.Metadata.Get(metaSubject)
	registry, ok := g.subjects.Registry(subject)
	if !ok {
		return g.refuse(msg, unknownRegistry, &ingest.Refusal{
			Problem: problem.Forbidden(fmt.Sprintf("subject %q is not a registry's subject of %q", subject, g.subjects)),
			Reasons: []string{"unknown_subject"},
		})
	}
	if bad := msg.Metadata.Get(metaHeaderError); bad != "" {
		return g.refuse(msg, registry, &ingest.Refusal{Problem: problem.BadRequest(bad), Reasons: []string{"malformed_header"}})
	}
	contentType, _ := header(msg.Metadata, "Content-Type")
	if contentType == "" {
		// The CloudEvents NATS binding's structured mode: the payload is
		// the event, with or without a content-type header.
		contentType = "application/cloudevents+json"
	}
	from := ingest.Sender{Source: Source(registry), Credential: fmt.Sprintf("the registry of subject %q", subject)}
	accepted, err := g.sub.Submit(msg.Context(), from, contentType, msg.Payload)
	var refusal *ingest.Refusal
	switch {
	case err == nil:
		g.metrics.messages.WithLabelValues(outcomeStored).Inc()
		g.log.Debug("registry message stored", "subject", subject, "sequence", msg.Metadata.Get(metaSequence),
			"accepted", accepted.Accepted, "duplicates", accepted.Duplicates)
		return nil
	case !errors.As(err, &refusal):
		return g.retry(msg, subject, err)
	case refusal.Temporary():
		return g.retry(msg, subject, refusal)
	case refusal.OnlyReason(string(lifeevent.ReasonUnknownPerson)) && delivered(msg.Metadata) < uint64(g.cfg.UnknownPersonDeliveries):
		return g.retry(msg, subject, refusal)
	default:
		return g.refuse(msg, registry, refusal)
	}
}

// retry refuses the message with the subscriber's delay; it comes again.
// It is not an error of the handler: nothing is wrong with the message.
func (g *Ingest) retry(msg *message.Message, subject string, why error) error {
	g.metrics.messages.WithLabelValues(outcomeRetried).Inc()
	g.log.Warn("registry message not stored yet; it will come again", "subject", subject,
		"sequence", msg.Metadata.Get(metaSequence), "delivered", delivered(msg.Metadata), "reason", why)
	msg.Nack()
	return nil
}

// refuse publishes the message to its registry's dead-letter subject with
// the refusal in its headers; only once that is stored by the broker is
// the message acknowledged. If publishing fails, the message comes again.
func (g *Ingest) refuse(msg *message.Message, registry string, refusal *ingest.Refusal) error {
	dead := message.NewMessage(msg.Metadata.Get(metaStream)+"-"+msg.Metadata.Get(metaSequence), msg.Payload)
	for k, v := range msg.Metadata {
		// The broker's own headers (Nats-Rollup, Nats-TTL, ...) would act on
		// the dead-letter stream; ours are set below.
		if !hasPrefixFold(k, reservedPrefix) && !hasPrefixFold(k, "Dead-Letter-") && !hasPrefixFold(k, "Nats-") {
			dead.Metadata.Set(k, v)
		}
	}
	if msg.Metadata.Get(metaSequence) == "" {
		dead.UUID = "" // no stream position to deduplicate on
	}
	dead.Metadata.Set(HeaderSubject, msg.Metadata.Get(metaSubject))
	dead.Metadata.Set(HeaderStream, msg.Metadata.Get(metaStream))
	dead.Metadata.Set(HeaderSequence, msg.Metadata.Get(metaSequence))
	dead.Metadata.Set(HeaderDeliveries, strconv.FormatUint(delivered(msg.Metadata), 10))
	dead.Metadata.Set(HeaderTime, g.cfg.Clock.Now().UTC().Format(time.RFC3339Nano))
	dead.Metadata.Set(HeaderStatus, strconv.Itoa(refusal.Problem.Status))
	dead.Metadata.Set(HeaderReasons, strings.Join(refusal.Reasons, ","))
	dead.Metadata.Set(HeaderReason, reasonText(refusal.Problem, maxReasonBytes))
	fit(dead, refusal.Problem, int(g.pubConn.MaxPayload()))

	subject := g.deadLetter.Subject(registry)
	if err := g.publisher.Publish(subject, dead); err != nil {
		g.metrics.messages.WithLabelValues(outcomeRetried).Inc()
		g.log.Error("registry message refused but not dead-lettered; it will come again",
			"subject", msg.Metadata.Get(metaSubject), "dead_letter_subject", subject, "error", err)
		msg.Nack()
		return nil
	}
	g.metrics.messages.WithLabelValues(outcomeDeadLettered).Inc()
	g.log.Warn("registry message dead-lettered", "subject", msg.Metadata.Get(metaSubject),
		"sequence", msg.Metadata.Get(metaSequence), "dead_letter_subject", subject,
		"status", refusal.Problem.Status, "reason", dead.Metadata.Get(HeaderReason))
	return nil
}

// Header budgets: a message, headers included, must fit the server's
// max_payload (1 MiB by default), and the refused one may already be close.
const (
	maxReasonBytes  = 2 << 10
	minReasonBytes  = 200
	maxProblemBytes = 32 << 10
)

// fit makes the dead letter, headers included, fit the server's
// max_payload (limit): the refused message may already be close to it. It
// adds HeaderProblem with every field error, or with those that fit, or not
// at all; it shortens HeaderReason if it must, and as a last resort drops
// the payload, saying so in HeaderPayloadDropped.
func fit(dead *message.Message, p *problem.Problem, limit int) {
	size := func() int { return len(dead.Payload) + headerBytes(dead.Metadata) }
	if over := size() - limit; over > 0 {
		reason := dead.Metadata.Get(HeaderReason)
		dead.Metadata.Set(HeaderReason, reasonText(p, max(minReasonBytes, len(reason)-over)))
	}
	if size() > limit {
		dead.Metadata.Set(HeaderPayloadDropped, strconv.Itoa(len(dead.Payload)))
		dead.Payload = nil
	}
	budget := min(limit-size(), maxProblemBytes)
	full := *p
	for n := len(p.Errors); budget > 0; n = n / 2 {
		full.Errors = p.Errors[:n]
		if n < len(p.Errors) {
			full.Detail = fmt.Sprintf("%s (%d of %d errors shown)", p.Detail, n, len(p.Errors))
		}
		b, err := json.Marshal(full)
		if err == nil && len(b)+len(HeaderProblem)+4 <= budget {
			dead.Metadata.Set(HeaderProblem, string(b))
			return
		}
		if n == 0 {
			return
		}
	}
}

// headerBytes is about the size of the headers the marshaler makes of md,
// with room for the Watermill id and Nats-Msg-Id headers it adds.
func headerBytes(md message.Metadata) int {
	n := 12 // "NATS/1.0\r\n" and the final "\r\n"
	for k, v := range md {
		n += len(k) + len(v) + 4
	}
	return n + 256
}

// reasonText is the problem's detail with its first field errors, on one
// line and at most limit bytes.
func reasonText(p *problem.Problem, limit int) string {
	var b strings.Builder
	b.WriteString(oneLine(p.Detail))
	for i, e := range p.Errors {
		part := oneLine(e.Detail)
		if e.Pointer != "" {
			part = e.Pointer + ": " + part
		}
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		if b.Len()+len(sep)+len(part) > limit {
			if more := len(p.Errors) - i; b.Len()+24 <= limit {
				fmt.Fprintf(&b, "; and %d more", more)
			}
			break
		}
		b.WriteString(sep)
		b.WriteString(part)
	}
	s := b.String()
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}

// oneLine keeps a header value on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
