// Package sealed is an event store decorator that keeps personal data out
// of the log in clear: it seals the personal fields of every event appended
// (domain/personaldata's table) with the key of the person each belongs to,
// and opens them on every read, a field whose person's key is erased
// reading as personaldata.Marker. It wraps any eventstore.Store; the store
// below only ever sees sealed bytes, so the embedded store's hash chain is
// computed over them and stays valid when a key is erased.
//
// Reads cost nothing for an event without an envelope: its data is scanned
// for the envelope's prefix and handed on as it is, never decoded.
package sealed

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// Store is the decorator. Safe for concurrent use.
type Store struct {
	inner  eventstore.Store
	keys   personaldata.KeyStore
	random io.Reader
	opened *openedCache // events opened lately, shared by every reader
}

// New wraps inner. Close closes inner, then keys when it is an io.Closer.
func New(inner eventstore.Store, keys personaldata.KeyStore) *Store {
	return &Store{inner: inner, keys: keys, random: rand.Reader, opened: newOpenedCache(openedCacheSize)}
}

// Inner is the store below, which holds the sealed bytes (for the checks
// of a particular store, such as the embedded store's hash chain).
func (s *Store) Inner() eventstore.Store { return s.inner }

// Keys is the key store the decorator seals and opens with.
func (s *Store) Keys() personaldata.KeyStore { return s.keys }

// Append seals, then appends.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.Event) (eventstore.AppendResult, error) {
	sealed, err := s.seal(ctx, [][]eventstore.Event{events})
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return s.inner.Append(ctx, stream, expected, sealed[0]...)
}

// AppendMany seals, then appends.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	batches := make([][]eventstore.Event, len(appends))
	for i, a := range appends {
		batches[i] = a.Events
	}
	sealed, err := s.seal(ctx, batches)
	if err != nil {
		return nil, err
	}
	out := make([]eventstore.StreamAppend, len(appends))
	for i, a := range appends {
		out[i] = a
		out[i].Events = sealed[i]
	}
	return s.inner.AppendMany(ctx, out)
}

// seal returns the batches with their personal fields sealed. The keys of
// every owner are ensured (created, durably) before anything is appended.
// Each payload is searched once: its values' places are kept while the
// keys are ensured, then sealed. The caller's events are not modified.
func (s *Store) seal(ctx context.Context, batches [][]eventstore.Event) ([][]eventstore.Event, error) {
	var (
		found  [][]personaldata.Found // of the events with personal values
		owners []string
	)
	for i, b := range batches {
		for j, e := range b {
			f, err := personaldata.Find(e.Type, e.Data)
			if err != nil {
				return nil, fmt.Errorf("seal event %s: %w", e.ID, err)
			}
			if len(f.Owners()) == 0 {
				continue
			}
			if found == nil {
				found = make([][]personaldata.Found, len(batches))
			}
			if found[i] == nil {
				found[i] = make([]personaldata.Found, len(b))
			}
			found[i][j] = f
			owners = append(owners, f.Owners()...)
		}
	}
	if found == nil {
		return batches, nil
	}
	keys, err := s.keys.Ensure(ctx, owners)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	rewrite := s.sealer(keys)
	out := make([][]eventstore.Event, len(batches))
	for i, b := range batches {
		if found[i] == nil {
			out[i] = b
			continue
		}
		out[i] = make([]eventstore.Event, len(b))
		for j, e := range b {
			if f := &found[i][j]; len(f.Owners()) > 0 {
				data, err := f.Rewrite(rewrite)
				if err != nil {
					return nil, fmt.Errorf("seal event %s: %w", e.ID, err)
				}
				e.Data = data
			}
			out[i][j] = e
		}
	}
	return out, nil
}

// sealer seals a value with its owner's key, each key's cipher made once
// for the whole append, the nonces read from the random source a few
// hundred bytes at a time rather than one system call per value.
func (s *Store) sealer(keys map[string]personaldata.Key) personaldata.Rewrite {
	ready := make(map[string]personaldata.Key, len(keys))
	random := bufio.NewReaderSize(s.random, nonceBuffer)
	return func(owner string, v json.RawMessage) (json.RawMessage, error) {
		if personaldata.IsSealed(v) {
			return v, nil // copied from a stored event as it was: already sealed
		}
		k, ok := ready[owner]
		if !ok {
			var err error
			if k, err = keys[owner].Ready(); err != nil {
				return nil, err
			}
			ready[owner] = k
		}
		if k.Erased {
			// The person was erased: what comes about them later is not
			// kept either.
			return markerJSON, nil
		}
		return personaldata.Seal(k, owner, v, random)
	}
}

// nonceBuffer is how much randomness an append reads at once: the nonces
// of 21 values.
const nonceBuffer = 256

// markerJSON is what an erased person's value is stored as.
var markerJSON, _ = json.Marshal(personaldata.Marker)

// Open replaces the envelopes of an event with their plaintext, as every
// read through the decorator does: for an event delivered straight from
// the store below (the workers' persistent subscription on EventStoreDB).
func (s *Store) Open(ctx context.Context, e *eventstore.RecordedEvent) error { return s.open(ctx, e) }

// forgetter is a key store whose cache may hold a key that another
// process has erased since (adapters/eventstore/esdb).
type forgetter interface{ Forget(person string) }

// open replaces the envelopes of an event read with their plaintext.
func (s *Store) open(ctx context.Context, e *eventstore.RecordedEvent) error {
	if e.Type == personaldata.TypeErased {
		// The key was deleted before this was appended: whatever follows
		// it in the log must not open with a cached copy of the key.
		if f, ok := s.keys.(forgetter); ok {
			var er personaldata.Erased
			if err := json.Unmarshal(e.Data, &er); err != nil {
				return fmt.Errorf("read event %s (%s): %w", e.ID, e.Type, err)
			}
			f.Forget(er.PersonID)
		}
	}
	if !personaldata.Contains(e.Data) {
		return nil
	}
	if data, ok := s.opened.get(ctx, s.keys, e.Position, len(e.Data)); ok {
		e.Data = data
		return nil
	}
	var owners []string
	erased := false
	erasures, counted := erasuresNow(s.keys) // before any key is read
	data, err := personaldata.Unseal(e.Data, func(owner string) (personaldata.Key, error) {
		k, err := s.keys.Lookup(ctx, owner)
		owners, erased = append(owners, owner), erased || k.Erased
		return k, err
	})
	if err != nil {
		return fmt.Errorf("open event %s at position %d: %w", e.ID, e.Position, err)
	}
	if !erased { // what an erasure changed is not kept: it reads as erased anyway
		s.opened.put(e.Position, len(e.Data), data, owners, erasures, counted)
	}
	e.Data = data
	return nil
}

// ReadStream reads and opens.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Revision, dir eventstore.Direction, max int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.inner.ReadStream(ctx, stream, from, dir, max)
	if err != nil {
		return evs, err
	}
	return evs, s.openAll(ctx, evs)
}

// ReadAll reads and opens.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, max int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.inner.ReadAll(ctx, after, filter, max)
	if err != nil {
		return evs, err
	}
	return evs, s.openAll(ctx, evs)
}

func (s *Store) openAll(ctx context.Context, evs []eventstore.RecordedEvent) error {
	for i := range evs {
		if err := s.open(ctx, &evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// SubscribeAll delivers opened events.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, filter eventstore.Filter, handle func(eventstore.RecordedEvent) error) error {
	return s.inner.SubscribeAll(ctx, after, filter, func(e eventstore.RecordedEvent) error {
		if err := s.open(ctx, &e); err != nil {
			return err
		}
		return handle(e)
	})
}

// Sync is the store's (eventstore.Syncer); nothing to wait for when the
// store below syncs every append.
func (s *Store) Sync(ctx context.Context) error { return eventstore.Sync(ctx, s.inner) }

// LastPosition is the store's.
func (s *Store) LastPosition(ctx context.Context) (eventstore.Position, error) {
	return s.inner.LastPosition(ctx)
}

// Close closes the store, then the key store when it can be closed.
func (s *Store) Close() error {
	err := s.inner.Close()
	if c, ok := s.keys.(io.Closer); ok {
		if kerr := c.Close(); err == nil {
			err = kerr
		}
	}
	return err
}

// backuper is a store that copies itself while serving (the embedded one).
type backuper interface {
	Backup(ctx context.Context, dir string) (eventstore.Position, error)
}

// keysBackuper is a key store that copies itself into a backup's data
// directory while serving.
type keysBackuper interface {
	BackupInto(data string) error
}

// Backup writes a consistent copy of the store below into dir, then of the
// key store beside it (where a data directory holds it): taken after the log's, the keys' copy holds the
// key of every event the log's copy holds (a key is stored before its
// event), except those erased in between, which is what an erasure wants.
func (s *Store) Backup(ctx context.Context, dir string) (eventstore.Position, error) {
	b, ok := s.inner.(backuper)
	if !ok {
		return 0, fmt.Errorf("backup: the store %T cannot copy itself", s.inner)
	}
	k, ok := s.keys.(keysBackuper)
	if !ok {
		return 0, fmt.Errorf("backup: the key store %T cannot copy itself", s.keys)
	}
	last, err := b.Backup(ctx, dir)
	if err != nil {
		return 0, err
	}
	if err := k.BackupInto(dir); err != nil {
		return 0, fmt.Errorf("backup the keys: %w", err)
	}
	return last, nil
}
