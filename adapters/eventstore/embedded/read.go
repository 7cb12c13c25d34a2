package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble"

	"lifesituations/domain/eventstore"
)

// scanChunk bounds the records one iterator scans, so that a long read or a
// selective filter never pins an iterator (and the files it reads) for long.
const scanChunk = 16384

// ReadStream reads up to max events of a stream from revision from
// (inclusive). Backwards from a revision past the end starts at the last
// event; forwards from past the end returns no event.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Revision, dir eventstore.Direction, max int) ([]eventstore.RecordedEvent, error) {
	if err := checkStream(stream); err != nil {
		return nil, fmt.Errorf("read %q: %w", stream, err)
	}
	if max <= 0 {
		return nil, fmt.Errorf("read %s: max %d, want > 0", stream, max)
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	var events []eventstore.RecordedEvent
	err := s.view(func() error {
		var err error
		events, err = s.readStream(stream, from, dir, max)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	return events, nil
}

// readStream walks the stream index and fetches each record from the log.
// Only events up to the last applied position are seen (those of deferred
// appends too, see eventstore.WithDeferredSync): Pebble shows a batch a
// moment before its commit ends.
func (s *Store) readStream(stream string, from eventstore.Revision, dir eventstore.Direction, max int) (events []eventstore.RecordedEvent, err error) {
	last := s.applied.Load()
	prefix := appendStreamPrefix(nil, stream)
	// Every index key of the stream is prefix + 8 bytes, below prefix + 9 × 0xff.
	upper := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 9)...)
	idx, err := s.eng.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, idx.Close()) }()
	log, err := s.eng.db.NewIter(&pebble.IterOptions{LowerBound: appendLogKey(nil, 1), UpperBound: appendLogKey(nil, last+1)})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, log.Close()) }()

	// The stream exists once its first event is committed.
	if !idx.First() {
		return nil, errors.Join(eventstore.ErrStreamNotFound, idx.Error())
	}
	if pos, err := u64(idx.Value()); err != nil || pos > last {
		return nil, errors.Join(eventstore.ErrStreamNotFound, err)
	}

	var valid bool
	if dir == eventstore.Backwards {
		if from == math.MaxUint64 {
			valid = idx.Last()
		} else {
			valid = idx.SeekLT(appendStreamKey(nil, stream, from+1))
		}
	} else {
		valid = idx.SeekGE(appendStreamKey(nil, stream, from))
	}
	in := interner{}
	key := make([]byte, 0, 9)
	for ; valid && len(events) < max; valid = step(idx, dir) {
		pos, err := u64(idx.Value())
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if pos > last {
			// Not committed yet: the last revisions of the stream.
			if dir == eventstore.Backwards {
				continue
			}
			break
		}
		key = appendLogKey(key[:0], pos)
		if !log.SeekGE(key) || !bytes.Equal(log.Key(), key) {
			return nil, errors.Join(fmt.Errorf("position %d: %w: missing record", pos, errCorrupt), log.Error())
		}
		ev, _, err := decodeRecord(log.Value(), pos, &eventstore.Filter{}, in)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, errors.Join(idx.Error(), log.Error())
}

func step(it *pebble.Iterator, dir eventstore.Direction) bool {
	if dir == eventstore.Backwards {
		return it.Prev()
	}
	return it.Next()
}

// ReadAll reads up to max events after position after that pass the filter.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, max int) ([]eventstore.RecordedEvent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("read all: max %d, want > 0", max)
	}
	var events []eventstore.RecordedEvent
	if len(filter.StreamPrefixes) == 0 && len(filter.TypePrefixes) == 0 {
		// Avoid regrowing a large result: it holds every event up to max.
		if last := s.last.Load(); last > after {
			events = make([]eventstore.RecordedEvent, 0, min(uint64(max), last-after))
		}
	}
	in := interner{}
	for len(events) < max {
		if err := s.usable(ctx); err != nil {
			return nil, err
		}
		var (
			atEnd bool
			err   error
		)
		events, after, atEnd, err = s.follow(events, after, &filter, max, in)
		if err != nil {
			return nil, fmt.Errorf("read all: %w", err)
		}
		if atEnd {
			break
		}
	}
	return events, nil
}

// scan appends to dst the events after position after that pass the filter,
// until dst holds max events or scanChunk records were scanned, with one
// iterator. It returns the last position scanned and whether it reached the
// last committed position.
func (s *Store) scan(dst []eventstore.RecordedEvent, after eventstore.Position, f *eventstore.Filter, max int, in interner) ([]eventstore.RecordedEvent, eventstore.Position, bool, error) {
	after, atEnd, err := s.walk(after, s.last.Load(), f, in, false,
		func() bool { return len(dst) < max },
		func(ev *eventstore.RecordedEvent) error { dst = append(dst, *ev); return nil })
	return dst, after, atEnd, err
}

// Scan hands fn, in log order, every event after position after and up to
// upTo that passes the filter. The event is lent: its data is the store's
// own bytes, valid only until fn returns, and fn copies what it keeps. A
// reader of the whole log that keeps little of each event (audit verify's
// plan), or that makes a copy of its own anyway (its readers, which open
// the personal fields into a new buffer), is spared a copy of every
// payload. Such a reader reads the events' data: their metadata is left
// out but for RecordedAt (its strings were a string allocated per event,
// 2 - 3% of a verification, docs/performance.md).
func (s *Store) Scan(ctx context.Context, after, upTo eventstore.Position, filter eventstore.Filter, fn func(*eventstore.RecordedEvent) error) error {
	in := interner{}
	for {
		if err := s.usable(ctx); err != nil {
			return err
		}
		var (
			atEnd bool
			err   error
		)
		after, atEnd, err = s.walk(after, min(upTo, s.last.Load()), &filter, in, true, nil, fn)
		if err != nil {
			return fmt.Errorf("scan the log: %w", err)
		}
		if atEnd {
			return nil
		}
	}
}

// walk decodes the records after position after and up to last that pass
// the filter, and hands each to fn, while more (nil: always) allows and for
// at most scanChunk records, with one iterator. Each event's data is lent
// (see Scan) or copied. It returns the last position scanned and whether it
// reached last.
func (s *Store) walk(after, last eventstore.Position, f *eventstore.Filter, in interner, lend bool,
	more func() bool, fn func(*eventstore.RecordedEvent) error) (eventstore.Position, bool, error) {
	if after >= last {
		return after, true, nil
	}
	atEnd := false
	err := s.view(func() (err error) {
		it, err := s.eng.db.NewIter(&pebble.IterOptions{
			LowerBound: appendLogKey(nil, after+1),
			UpperBound: appendLogKey(nil, last+1),
		})
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, it.Close()) }()
		// One event for the walk: fn is lent its address, which would
		// otherwise move a fresh one to the heap for every record.
		var ev eventstore.RecordedEvent
		valid := it.First()
		for scanned := 0; ; scanned++ {
			if !valid {
				atEnd = true
				return it.Error()
			}
			if more != nil && !more() || scanned >= scanChunk {
				return nil
			}
			pos, err := u64(it.Key()[1:])
			if err != nil {
				return fmt.Errorf("log key: %w", err)
			}
			var ok bool
			ev, ok, err = decodeRecordData(it.Value(), pos, f, in, lend)
			if err != nil {
				return err
			}
			if ok {
				if err := fn(&ev); err != nil {
					return err
				}
			}
			after = pos
			valid = it.Next()
		}
	})
	return after, atEnd, err
}
