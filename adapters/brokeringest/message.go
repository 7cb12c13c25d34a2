package brokeringest

import (
	"strconv"
	"strings"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// Metadata that the unmarshaler sets on every Watermill message from what
// the broker, not the publisher, says about it. A header of the same name
// sent by a publisher is dropped, so none of them can be forged.
const (
	metaSubject     = "Lifesituations-Nats-Subject"
	metaStream      = "Lifesituations-Nats-Stream"
	metaSequence    = "Lifesituations-Nats-Sequence"
	metaDelivered   = "Lifesituations-Nats-Delivered"
	metaHeaderError = "Lifesituations-Nats-Header-Error"
	reservedPrefix  = "Lifesituations-Nats-"
)

// unmarshaler turns a JetStream message into a Watermill message with the
// headers as metadata and the broker's facts (subject, stream sequence,
// delivery count) under reserved keys. It never fails: a message the
// subscriber cannot unmarshal is neither acknowledged nor refused and
// would come back forever, so a malformed header is recorded for the
// handler to dead-letter instead.
type unmarshaler struct{}

var _ wmnats.Unmarshaler = unmarshaler{}

func (unmarshaler) Unmarshal(m *nats.Msg) (*message.Message, error) {
	md := make(message.Metadata, len(m.Header)+4)
	var bad []string
	for k, v := range m.Header {
		switch {
		case k == wmnats.WatermillUUIDHdr || k == nats.MsgIdHdr || strings.HasPrefix(k, "Nats-Expected-"):
			continue
		case hasPrefixFold(k, reservedPrefix):
			continue
		case len(v) != 1:
			bad = append(bad, k)
			if len(v) > 0 {
				md.Set(k, v[0])
			}
		default:
			md.Set(k, v[0])
		}
	}
	md.Set(metaSubject, m.Subject)
	id := m.Header.Get(wmnats.WatermillUUIDHdr)
	if meta, err := m.Metadata(); err == nil {
		md.Set(metaStream, meta.Stream)
		md.Set(metaSequence, strconv.FormatUint(meta.Sequence.Stream, 10))
		md.Set(metaDelivered, strconv.FormatUint(meta.NumDelivered, 10))
		if id == "" {
			id = meta.Stream + "-" + strconv.FormatUint(meta.Sequence.Stream, 10)
		}
	}
	if len(bad) > 0 {
		md.Set(metaHeaderError, "header "+strings.Join(bad, ", ")+" must have exactly one value")
	}
	msg := message.NewMessage(id, m.Data)
	msg.Metadata = md
	return msg, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// header is a metadata value by case-insensitive name: NATS headers keep
// the case the publisher used.
func header(md message.Metadata, name string) (string, bool) {
	if v, ok := md[name]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// delivered is how many times the broker has delivered the message,
// counting this time (1 when unknown).
func delivered(md message.Metadata) uint64 {
	n, err := strconv.ParseUint(md.Get(metaDelivered), 10, 64)
	if err != nil || n == 0 {
		return 1
	}
	return n
}
