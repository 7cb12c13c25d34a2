// Package keystore keeps the persons' keys of personal data
// (domain/personaldata.KeyStore) in a Pebble database of its own, beside
// the event store (<data>/keys): the log can be copied, backed up and
// verified without the keys, and erasing a person deletes one row here,
// never a byte of the log.
//
// A key is created with crypto/rand and written with a synced commit before
// Ensure returns, so before the event sealed with it is appended: after a
// crash every acknowledged event has its key. Erase overwrites the key with
// a tombstone (synced), then compacts the key's range so that no SSTable
// keeps the old value. What may remain: the bytes of the write-ahead log
// segment that carried the key's creation, until Pebble recycles or deletes
// that segment and the file system reuses its blocks, and copies of the
// directory (backups) made before the erasure.
package keystore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"

	"lifesituations/domain/personaldata"
)

// Dir is the key store's directory under a data directory.
const Dir = "keys"

// Row values: a live key is its tag then the secret; an erased person's
// row is the tag alone (a tombstone, so that a later event about them is
// never sealed with a new key and their erasure is known).
const (
	tagKey    = 1
	tagErased = 0
)

// Store is the embedded key store. Safe for concurrent use.
type Store struct {
	db       *pebble.DB
	closed   sync.Once
	random   io.Reader
	readOnly bool

	create sync.Mutex // one creator at a time: two must not make two keys for one person
	// writes counts the commits of key rows (created or erased), each
	// counted under create once durable: a creator that finds, holding
	// create, the count it read before its lookups knows nothing was
	// written since, and needs not read its missing persons again.
	writes atomic.Uint64
	// erasures counts the erasures begun, each before its key is gone from
	// the cache or the disk (sealed's cache of opened events checks it).
	erasures atomic.Uint64

	mu sync.RWMutex
	// cache is the keys read or made, without their ciphers, in a table
	// the collector does not scan: a million persons' keys fit in about
	// 100 MB. When it held 131,072, a million persons' catch-up looked
	// most keys up in Pebble again for each read model (15% of its CPU).
	cache    *personaldata.KeyTable
	maxCache int
	// ready is the keys used lately with their ciphers made: a person's
	// key seals and opens a burst of events within moments, and making
	// the cipher for each event cost more than sealing its values. Few,
	// for a cipher's memory.
	ready map[string]personaldata.Key
	// erasing: persons erased (or being erased) by this process, so that a
	// lookup that read the old key just before never caches it after.
	erasing map[string]bool
}

// blockCache holds about a million persons' keys as Pebble's decoded
// blocks (a key's row is about 80 bytes).
const blockCache = 96 << 20

// Option configures Open.
type Option func(*Store)

// WithCacheSize bounds the keys kept in memory (default 1<<20).
func WithCacheSize(n int) Option { return func(s *Store) { s.maxCache = max(n, 1) } }

// WithRandom replaces crypto/rand (tests).
func WithRandom(r io.Reader) Option { return func(s *Store) { s.random = r } }

// ReadOnly opens an existing key store for reading only (an auditor's
// verification): creating or erasing a key fails, and Pebble neither
// flushes nor compacts.
func ReadOnly() Option { return func(s *Store) { s.readOnly = true } }

// Open opens (creating, unless ReadOnly) the key store in dir.
func Open(dir string, opts ...Option) (*Store, error) {
	s := &Store{random: rand.Reader, cache: personaldata.NewKeyTable(), maxCache: 1 << 20, erasing: map[string]bool{},
		ready: map[string]personaldata.Key{}}
	for _, o := range opts {
		o(s)
	}
	// Pebble's default block cache (8 MiB) could not even hold the
	// filters and indexes of a million persons' keys: every lookup missing
	// the cache above read and decompressed them again.
	cache := pebble.NewCache(blockCache)
	defer cache.Unref() // the database holds its own reference
	popts := &pebble.Options{
		Cache:  cache,
		Logger: quietLogger{},
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) { pebble.DefaultLogger.Infof("key store: background error: %s", err) },
		},
		Levels:   make([]pebble.LevelOptions, 7),
		ReadOnly: s.readOnly,
	}
	// Most lookups at ingest are for a person who has no key yet: without
	// bloom filters each such miss searched every table (10 us, 8% of a
	// loaded ingest server's CPU).
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		popts.Levels[i].FilterType = pebble.TableFilter
	}
	db, err := pebble.Open(dir, popts)
	if err != nil {
		return nil, fmt.Errorf("open the key store in %s: %w", dir, err)
	}
	s.db = db
	return s, nil
}

// OpenIn opens the key store of a data directory.
func OpenIn(data string, opts ...Option) (*Store, error) {
	return Open(filepath.Join(data, Dir), opts...)
}

func rowKey(person string) []byte { return append([]byte("k/"), person...) }

// readySize bounds the keys kept with their ciphers (784 bytes each).
const readySize = 4096

// Lookup returns a person's key, its cipher made.
func (s *Store) Lookup(_ context.Context, person string) (personaldata.Key, error) {
	if k, ok := s.cached(person); ok {
		return s.makeReady(person, k)
	}
	k, ok, err := s.read(person)
	if err != nil {
		return personaldata.Key{}, err
	}
	if !ok {
		return personaldata.Key{}, fmt.Errorf("%s: %w", person, personaldata.ErrNoKey)
	}
	s.remember(person, k)
	return k, nil
}

// Ensure returns the persons' keys, creating the missing ones in one synced
// commit first.
func (s *Store) Ensure(ctx context.Context, persons []string) (map[string]personaldata.Key, error) {
	seen := s.writes.Load()
	out, missing, err := personaldata.LookupAll(persons, func(p string) (personaldata.Key, error) { return s.Lookup(ctx, p) })
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return out, nil
	}
	s.create.Lock()
	defer s.create.Unlock()
	raced := s.writes.Load() != seen
	b := s.db.NewBatch()
	defer b.Close()
	created := map[string]personaldata.Key{}
	for _, p := range missing {
		if _, done := created[p]; done {
			continue
		}
		// Another creator (or an eraser) may have written it since the
		// lookup; if nobody wrote anything, the lookup still holds.
		if raced {
			if k, ok, err := s.read(p); err != nil {
				return nil, err
			} else if ok {
				out[p] = k
				continue
			}
		}
		secret := make([]byte, personaldata.KeySize)
		if _, err := io.ReadFull(s.random, secret); err != nil {
			return nil, fmt.Errorf("make the key of %s: %w", p, err)
		}
		if err := b.Set(rowKey(p), append([]byte{tagKey}, secret...), nil); err != nil {
			return nil, fmt.Errorf("store the key of %s: %w", p, err)
		}
		k, err := personaldata.NewKey(secret)
		if err != nil {
			return nil, err
		}
		created[p] = k
	}
	if len(created) > 0 {
		if err := b.Commit(pebble.Sync); err != nil {
			return nil, fmt.Errorf("store %d new key(s): %w", len(created), err)
		}
		// After the commit: a creator that read the count after this saw
		// these keys in its lookups.
		s.writes.Add(1)
	}
	for p, k := range created {
		out[p] = k
		s.remember(p, k)
	}
	return out, nil
}

// Erase deletes a person's key: a synced tombstone, then a compaction of
// its range so that the old value leaves the SSTables.
func (s *Store) Erase(_ context.Context, person string) error {
	row := rowKey(person)
	if err := s.tombstone(person, row); err != nil {
		return err
	}
	// Outside the creators' lock: compacting may rewrite a table file. An
	// erasure repeated (after a failed compaction, say) compacts again.
	if err := s.db.Compact(row, append(row, 0), false); err != nil {
		return fmt.Errorf("erase the key of %s: compact: %w", person, err)
	}
	return nil
}

// Erasures is how many erasures this store has begun: while it stays the
// same, every key read before is still there.
func (s *Store) Erasures() uint64 { return s.erasures.Load() }

// tombstone overwrites the person's key, durably (once).
func (s *Store) tombstone(person string, row []byte) error {
	s.create.Lock()
	defer s.create.Unlock()
	k, ok, err := s.read(person)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", person, personaldata.ErrNoKey)
	}
	s.erasures.Add(1)
	s.mu.Lock()
	s.erasing[person] = true
	s.cache.Delete(person)
	delete(s.ready, person)
	s.mu.Unlock()
	if k.Erased {
		return nil
	}
	if err := s.db.Set(row, []byte{tagErased}, pebble.Sync); err != nil {
		s.mu.Lock()
		delete(s.erasing, person)
		s.mu.Unlock()
		return fmt.Errorf("erase the key of %s: %w", person, err)
	}
	s.writes.Add(1)
	return nil
}

// BackupInto writes a consistent copy of the key store into the data
// directory data (at data/keys, which must not exist) while it serves, with
// hard links where the file system allows: the backup of the keys that goes
// with a backup of the log.
func (s *Store) BackupInto(data string) error {
	dir := filepath.Join(data, Dir)
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("copy the key store to %s: %w", dir, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	var err error
	s.closed.Do(func() {
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("close the key store: %w", cerr)
		}
	})
	return err
}

// quietLogger drops Pebble's routine messages (the WAL replay report at
// every open); background errors reach the log through the listener.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf("key store: "+format, args...)
}

// All reads every person's key (and every erasure) in one pass over the
// store: for a reader of the whole log (audit verify), whose lookups, one
// per person and in no order the rows have, each cost a search of the
// tables and a block decompressed, 27% of the verification's CPU on a
// million persons' log. The table is as of the call: an erasure after it
// is not in it.
func (s *Store) All() (*personaldata.KeyTable, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte("k/"), UpperBound: []byte("k0")})
	if err != nil {
		return nil, fmt.Errorf("read the keys: %w", err)
	}
	defer it.Close()
	out := personaldata.NewKeyTable()
	for it.First(); it.Valid(); it.Next() {
		person := string(it.Key()[len("k/"):])
		k, err := decodeRow(person, it.Value()) // its secret copied by Add
		if err != nil {
			return nil, err
		}
		if err := out.Add(person, k); err != nil {
			return nil, err
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read the keys: %w", err)
	}
	return out, nil
}

func (s *Store) read(person string) (personaldata.Key, bool, error) {
	v, closer, err := s.db.Get(rowKey(person))
	if errors.Is(err, pebble.ErrNotFound) {
		return personaldata.Key{}, false, nil
	}
	if err != nil {
		return personaldata.Key{}, false, fmt.Errorf("read the key of %s: %w", person, err)
	}
	defer closer.Close()
	k, err := decodeRow(person, v)
	if err != nil || k.Erased {
		return k, err == nil, err
	}
	k, err = personaldata.NewKey(append([]byte(nil), k.Secret...))
	return k, err == nil, err
}

// decodeRow decodes a person's row: the key's tag then its secret (which
// aliases v), or the tag of an erasure.
func decodeRow(person string, v []byte) (personaldata.Key, error) {
	switch {
	case len(v) == 1 && v[0] == tagErased:
		return personaldata.Key{Erased: true}, nil
	case len(v) == 1+personaldata.KeySize && v[0] == tagKey:
		return personaldata.Key{Secret: v[1:]}, nil
	}
	return personaldata.Key{}, fmt.Errorf("the key of %s is corrupt (%d bytes)", person, len(v))
}

func (s *Store) cached(person string) (personaldata.Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.erasing[person] {
		return personaldata.Key{Erased: true}, true
	}
	if k, ok := s.ready[person]; ok {
		return k, true
	}
	return s.cache.Key(person)
}

// makeReady returns a cached key with its cipher, keeping it so among the
// keys used lately.
func (s *Store) makeReady(person string, k personaldata.Key) (personaldata.Key, error) {
	if k.Erased || k.HasCipher() {
		return k, nil
	}
	k, err := k.Ready()
	if err != nil {
		return personaldata.Key{}, fmt.Errorf("the key of %s: %w", person, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.erasing[person] {
		s.keepReady(person, k)
	}
	return k, nil
}

// keepReady keeps a key with its cipher; the caller holds mu.
func (s *Store) keepReady(person string, k personaldata.Key) {
	personaldata.MakeRoom(s.ready, min(readySize, s.maxCache))
	s.ready[person] = k
}

// remember caches a key; a full cache drops an arbitrary eighth of itself
// (map order), which is enough for a log read in order.
func (s *Store) remember(person string, k personaldata.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.erasing[person] {
		return
	}
	if s.cache.Len() >= s.maxCache {
		s.cache.Evict(max(s.maxCache/8, 1))
	}
	if err := s.cache.Add(person, k.Cacheable()); err != nil {
		// A secret of another size, which read and NewKey refuse before
		// it gets here: not cached, nor kept ready.
		return
	}
	if k.HasCipher() {
		s.keepReady(person, k)
	}
}
