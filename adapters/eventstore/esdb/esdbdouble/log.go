package esdbdouble

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// record is one event in the double's log.
type record struct {
	id          uuid.UUID
	stream      string
	rev         uint64
	commit      uint64
	prepare     uint64
	typ         string
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch, as the server sends them
	data        []byte
	meta        []byte
}

// pos is a $all position: commit then prepare, compared in that order as
// EventStoreDB compares them.
type pos struct{ commit, prepare uint64 }

func (p pos) less(q pos) bool {
	return p.commit < q.commit || (p.commit == q.commit && p.prepare < q.prepare)
}

func (r *record) pos() pos { return pos{r.commit, r.prepare} }

// expectation is an append's expected stream revision.
type expectation struct {
	kind int // expectAny, expectNoStream, expectExists, expectRevision
	rev  uint64
}

const (
	expectAny = iota
	expectNoStream
	expectExists
	expectRevision
)

// proposed is one event of an append request.
type proposed struct {
	id          uuid.UUID
	typ         string
	contentType string
	data, meta  []byte
}

// appendOutcome is what an append did.
type appendOutcome struct {
	ok bool
	// current is the stream's last revision (exists=false: no stream).
	current uint64
	exists  bool
	// at is the position reported for a success.
	at pos
	// deleted: the stream is tombstoned (tombstone.go).
	deleted bool
}

// store is the double's in-memory database. Its positions imitate
// EventStoreDB's: byte offsets in a transaction log, so they are sparse
// and grow by the size of each record; every event of one append shares
// the commit position of the append's first record and has a prepare
// position of its own.
type store struct {
	mu      sync.Mutex
	log     []*record
	streams map[string][]*record
	next    uint64 // the next record's log offset
	// recent is EventStoreDB's idempotency cache for appends expecting any
	// revision (or stream exists): event ids of recent writes, held in
	// memory only and lost on Restart, as the real server loses them.
	recent      map[uuid.UUID]recentWrite
	recentOrder []uuid.UUID
	// changed is closed and replaced after each append.
	changed chan struct{}
	// tombstoned: the hard-deleted streams (tombstone.go).
	tombstoned map[string]bool

	systemEvery int // write a system event after every n appends (0: never)
	appends     int
	now         func() time.Time
}

type recentWrite struct {
	stream string
	rev    uint64
}

// recentWindow bounds the idempotency cache, as the real server's is bounded.
const recentWindow = 10000

func newStore(now func() time.Time, systemEvery int) *store {
	s := &store{
		streams:     map[string][]*record{},
		recent:      map[uuid.UUID]recentWrite{},
		changed:     make(chan struct{}),
		next:        1 << 10, // a fresh database does not start at 0 either
		now:         now,
		systemEvery: systemEvery,
	}
	// What a fresh EventStoreDB database holds before any client writes:
	// system events in system streams. One has a type without "$", so that
	// a client that excludes system events only by type sees it.
	s.writeLocked("$users", []proposed{{id: uuid.New(), typ: "$UserCreated", contentType: "application/json", data: []byte(`{"LoginName":"admin"}`)}})
	s.writeLocked("$user-admin", []proposed{{id: uuid.New(), typ: "$User", contentType: "application/json", data: []byte(`{"loginName":"admin"}`)}})
	s.writeLocked("$settings", []proposed{{id: uuid.New(), typ: "update-default-acl", contentType: "application/json", data: []byte(`{}`)}})
	return s
}

// forgetRecent empties the idempotency cache: what a server restart does.
func (s *store) forgetRecent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.recent)
	s.recentOrder = nil
}

func (s *store) lastRev(stream string) (uint64, bool) {
	evs := s.streams[stream]
	if len(evs) == 0 {
		return 0, false
	}
	return uint64(len(evs) - 1), true
}

// append applies EventStoreDB's rules for expected revisions and
// idempotency, as documented for the server:
//   - an exact expectation (or no stream) that is behind the stream is
//     idempotent when the stream already holds the same event ids at the
//     revisions the append would have written, else a conflict;
//   - any (and stream exists, once the stream exists) is idempotent only
//     when every event id is in the recent in-memory cache for that stream;
//   - otherwise the expectation must hold.
func (s *store) append(stream string, exp expectation, evs []proposed) appendOutcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tombstoned[stream] {
		return appendOutcome{deleted: true}
	}
	cur, exists := s.lastRev(stream)
	fail := appendOutcome{current: cur, exists: exists}

	switch exp.kind {
	case expectAny, expectExists:
		if exp.kind == expectExists && !exists {
			return fail
		}
		if len(evs) > 0 {
			hits := 0
			var last recentWrite
			for _, ev := range evs {
				w, ok := s.recent[ev.id]
				if !ok || w.stream != stream {
					break
				}
				hits++
				last = w
			}
			if hits == len(evs) {
				r := s.streams[stream][last.rev]
				return appendOutcome{ok: true, current: last.rev, exists: true, at: r.pos()}
			}
		}
	case expectNoStream, expectRevision:
		// expected is the revision before the first event to write; -1
		// (no stream) is represented by first == 0.
		first := uint64(0)
		if exp.kind == expectRevision {
			first = exp.rev + 1
		}
		switch {
		case exists && first <= cur:
			// Behind the stream: idempotent if the same ids are there.
			if len(evs) == 0 {
				return fail
			}
			for i, ev := range evs {
				r := first + uint64(i)
				if r > cur || s.streams[stream][r].id != ev.id {
					return fail
				}
			}
			r := s.streams[stream][first+uint64(len(evs))-1]
			return appendOutcome{ok: true, current: r.rev, exists: true, at: r.pos()}
		case exp.kind == expectNoStream && exists:
			return fail
		case exp.kind == expectRevision && (!exists || exp.rev != cur):
			return fail
		}
	}
	if len(evs) == 0 {
		out := appendOutcome{ok: true, current: cur, exists: exists}
		if exists {
			out.at = s.streams[stream][cur].pos()
		}
		return out
	}
	last := s.writeLocked(stream, evs)
	s.appends++
	if s.systemEvery > 0 && s.appends%s.systemEvery == 0 {
		// Like the statistics the real server may write to its own streams.
		s.writeLocked("$stats-127.0.0.1:2113", []proposed{{id: uuid.New(), typ: "$statistics-collected", contentType: "application/json", data: []byte(`{}`)}})
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return appendOutcome{ok: true, current: last.rev, exists: true, at: last.pos()}
}

// writeLocked writes events as one transaction; s.mu is held.
func (s *store) writeLocked(stream string, evs []proposed) *record {
	commit := s.next
	created := s.now().UnixNano() / 100
	var last *record
	for _, ev := range evs {
		rev := uint64(len(s.streams[stream]))
		r := &record{
			id: ev.id, stream: stream, rev: rev,
			commit: commit, prepare: s.next,
			typ: ev.typ, contentType: ev.contentType, created: created,
			data: ev.data, meta: ev.meta,
		}
		// A record's size on disk, roughly: header, names, payloads.
		s.next += uint64(80 + len(stream) + len(ev.typ) + len(ev.data) + len(ev.meta))
		s.log = append(s.log, r)
		s.streams[stream] = append(s.streams[stream], r)
		s.remember(ev.id, stream, rev)
		last = r
	}
	return last
}

func (s *store) remember(id uuid.UUID, stream string, rev uint64) {
	if _, ok := s.recent[id]; !ok {
		s.recentOrder = append(s.recentOrder, id)
	}
	s.recent[id] = recentWrite{stream: stream, rev: rev}
	if len(s.recentOrder) > recentWindow {
		delete(s.recent, s.recentOrder[0])
		s.recentOrder = s.recentOrder[1:]
	}
}

// readStream returns up to count events of a stream; ok is false when the
// stream has no event.
func (s *store) readStream(stream string, from uint64, fromEnd, backwards bool, count uint64) ([]*record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.streams[stream]
	if len(evs) == 0 {
		return nil, false
	}
	var out []*record
	if backwards {
		start := uint64(len(evs) - 1)
		if !fromEnd && from < start {
			start = from
		}
		for i := int64(start); i >= 0 && uint64(len(out)) < count; i-- {
			out = append(out, evs[i])
		}
		return out, true
	}
	if fromEnd {
		return nil, true
	}
	for i := from; i < uint64(len(evs)) && uint64(len(out)) < count; i++ {
		out = append(out, evs[i])
	}
	return out, true
}

// allFrom returns the index in the log of the first record at or after p
// (inclusive) or after p (exclusive).
func (s *store) allFrom(p pos, inclusive bool) int {
	lo, hi := 0, len(s.log)
	for lo < hi {
		m := (lo + hi) / 2
		rp := s.log[m].pos()
		if rp.less(p) || (!inclusive && rp == p) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// readAll reads $all: forwards from p (inclusive), or backwards from
// before p; start/end select the ends of the log.
func (s *store) readAll(p pos, start, end, backwards bool, count uint64, f *filter) []*record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*record
	if backwards {
		i := len(s.log) - 1
		switch {
		case start:
			return nil
		case !end:
			i = s.allFrom(p, true) - 1
		}
		for ; i >= 0 && uint64(len(out)) < count; i-- {
			if f.match(s.log[i]) {
				out = append(out, s.log[i])
			}
		}
		return out
	}
	i := 0
	switch {
	case end:
		return nil
	case !start:
		i = s.allFrom(p, true)
	}
	for ; i < len(s.log) && uint64(len(out)) < count; i++ {
		if f.match(s.log[i]) {
			out = append(out, s.log[i])
		}
	}
	return out
}

// after returns the log records after index i and a channel closed at the
// next append.
func (s *store) after(i int, max int) ([]*record, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.log) {
		return nil, s.changed
	}
	end := min(len(s.log), i+max)
	return s.log[i:end:end], s.changed
}

// indexOf returns the log index where a subscription from p starts.
func (s *store) subscriptionStart(p pos, start, end bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case start:
		return 0
	case end:
		return len(s.log)
	default:
		// A subscription from a position starts after it.
		return s.allFrom(p, false)
	}
}

// filter is a server-side filter on stream names or event types: prefixes
// or a regular expression. A nil filter lets everything through.
type filter struct {
	onType   bool
	prefixes []string
	re       *regexp.Regexp
	// window and checkpoint: the server sends a checkpoint after every
	// window*multiplier events it has looked at.
	every int
}

func newFilter(onType bool, regex string, prefixes []string, window, multiplier uint32) (*filter, error) {
	f := &filter{onType: onType, prefixes: prefixes}
	if regex != "" {
		re, err := regexp.Compile(regex)
		if err != nil {
			return nil, fmt.Errorf("filter regex %q: %w", regex, err)
		}
		f.re = re
	}
	if window == 0 {
		window = 32
	}
	if multiplier == 0 {
		multiplier = 1
	}
	f.every = int(window * multiplier)
	return f, nil
}

func (f *filter) match(r *record) bool {
	if f == nil {
		return true
	}
	s := r.stream
	if f.onType {
		s = r.typ
	}
	if f.re != nil {
		return f.re.MatchString(s)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
