package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"lifesituations/domain/eventstore"
)

// scanChunk bounds the records one read transaction scans, so that a long
// read or a selective filter never holds a transaction open for long.
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
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketHeads).Get([]byte(stream))
		if v == nil {
			return eventstore.ErrStreamNotFound
		}
		last, err := u64(v)
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		if dir == eventstore.Backwards && from > last {
			from = last
		}
		if from > last {
			return nil
		}
		n := uint64(max)
		if dir == eventstore.Backwards {
			n = min(n, from+1)
		} else {
			n = min(n, last-from+1)
		}
		events = make([]eventstore.RecordedEvent, 0, n)

		prefix := appendStreamPrefix(nil, stream)
		log := tx.Bucket(bucketLog)
		c := tx.Bucket(bucketStreams).Cursor()
		in := interner{}
		for k, v := c.Seek(streamKey(stream, from)); k != nil && bytes.HasPrefix(k, prefix) && len(events) < max; {
			pos, err := u64(v)
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
			ev, _, err := decodeRecord(log.Get(v), pos, &eventstore.Filter{}, in)
			if err != nil {
				return err
			}
			events = append(events, ev)
			if dir == eventstore.Backwards {
				k, v = c.Prev()
			} else {
				k, v = c.Next()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, s.readErr(err))
	}
	return events, nil
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
		events, after, atEnd, err = s.scan(events, after, &filter, max, in)
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
// until dst holds max events or scanChunk records were scanned, in one read
// transaction. It returns the last position scanned and whether it reached
// the end of the log.
func (s *Store) scan(dst []eventstore.RecordedEvent, after eventstore.Position, f *eventstore.Filter, max int, in interner) ([]eventstore.RecordedEvent, eventstore.Position, bool, error) {
	atEnd := false
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		k, v := c.Seek(appendU64(make([]byte, 0, 8), after+1))
		for scanned := 0; ; scanned++ {
			if k == nil {
				atEnd = true
				return nil
			}
			if len(dst) >= max || scanned >= scanChunk {
				return nil
			}
			pos, err := u64(k)
			if err != nil {
				return fmt.Errorf("log key: %w", err)
			}
			ev, ok, err := decodeRecord(v, pos, f, in)
			if err != nil {
				return err
			}
			if ok {
				dst = append(dst, ev)
			}
			after = pos
			k, v = c.Next()
		}
	})
	return dst, after, atEnd, s.readErr(err)
}
