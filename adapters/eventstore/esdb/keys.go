package esdb

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"lifesituations/domain/personaldata"
)

// KeyStreamPrefix names the streams of the persons' keys of personal data
// (domain/personaldata.KeyStore): one stream per person,
// "lifesituations-key-<person id>", holding one event, the key. Streams
// with this prefix are reserved, like the markers: Append and ReadStream
// refuse them, and they are never the port's events.
const KeyStreamPrefix = "lifesituations-key-"

// keyType is the type of a key event. It starts with "$", so that the
// server's system-event filter (the position index's subscription, the
// catch-up subscriptions without stream prefixes) leaves keys out and a
// key never takes a port position: scavenging an erased key's event
// cannot renumber the log.
const keyType = "$lifesituations-key"

func keyStream(person string) string { return KeyStreamPrefix + person }

// KeyStore keeps the persons' keys in EventStoreDB, beside the log, so
// that every process of a split deployment (ingest, workers, APIs) seals
// and opens with the same keys.
//
//   - Creating: the key event is appended expecting no stream, so of two
//     processes that race to create a person's key one wins and the other
//     reads the winner's key. The server acknowledges the write once a
//     quorum of the cluster has it, before the event sealed with it is
//     appended.
//   - Erasing: the stream is tombstoned (hard delete). A tombstoned stream
//     can never be written again, so no new key can be created for an
//     erased person (an append fails as deleted: their later values are
//     stored as the marker), and reading it fails as deleted, which reads
//     as an erased key. The key event's bytes stay in the server's chunk
//     files (and $all) until a scavenge removes them; see
//     docs/architecture.md.
//   - Cache: a bounded cache of keys read or created, each live key for a
//     short time (WithKeyCacheTTL), so that an erasure made by another
//     process is honoured here within that time at most, and at once by
//     every reader that meets the person's person.erased event in the log
//     (the sealed decorator calls Forget; the erasure tombstones the key
//     before it appends that event). An erased key is cached for good: a
//     tombstone is never undone.
//
// Safe for concurrent use. Close is the store's: the key store holds no
// connection of its own.
type KeyStore struct {
	s        *Store
	random   io.Reader
	ttl      time.Duration
	maxCache int
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey
	// gen grows at each Forget and erasure, so that a lookup that read a
	// key before one never caches what it read after it.
	gen uint64
}

type cachedKey struct {
	key   personaldata.Key
	until time.Time // ignored for an erased key
}

var _ personaldata.KeyStore = (*KeyStore)(nil)

// KeyOption configures Keys.
type KeyOption func(*KeyStore)

// WithKeyCacheTTL sets how long a live key is used from the cache before
// it is read again (default 5 s): the longest an erasure made by another
// process can go unnoticed by this one's reads that do not follow the log.
func WithKeyCacheTTL(d time.Duration) KeyOption {
	return func(k *KeyStore) { k.ttl = max(d, 0) }
}

// WithKeyCacheSize bounds the keys kept in memory (default 1<<17).
func WithKeyCacheSize(n int) KeyOption { return func(k *KeyStore) { k.maxCache = max(n, 1) } }

// Keys returns a key store on the store's server, with a cache of its own
// (make one per process).
func (s *Store) Keys(opts ...KeyOption) *KeyStore {
	k := &KeyStore{s: s, random: rand.Reader, ttl: 5 * time.Second, maxCache: 1 << 17, now: time.Now, cache: map[string]cachedKey{}}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Lookup returns a person's key; personaldata.ErrNoKey when they have none.
func (k *KeyStore) Lookup(ctx context.Context, person string) (personaldata.Key, error) {
	if key, ok := k.cached(person); ok {
		return key, nil
	}
	gen := k.generation()
	key, found, err := k.read(ctx, person)
	if err != nil {
		return personaldata.Key{}, err
	}
	if !found {
		return personaldata.Key{}, fmt.Errorf("%s: %w", person, personaldata.ErrNoKey)
	}
	k.remember(person, key, gen)
	return key, nil
}

// Ensure returns the persons' keys, creating the missing ones first (in
// parallel, each durable on the server before Ensure returns).
func (k *KeyStore) Ensure(ctx context.Context, persons []string) (map[string]personaldata.Key, error) {
	out, missing, err := personaldata.LookupAll(persons, func(p string) (personaldata.Key, error) { return k.Lookup(ctx, p) })
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(k.s.cfg.parallel)
	for _, p := range missing {
		g.Go(func() error {
			key, err := k.create(gctx, p)
			if err != nil {
				return err
			}
			mu.Lock()
			out[p] = key
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// create writes a new key for person unless their stream exists: then the
// key is the one it holds (another process won the race), or erased.
func (k *KeyStore) create(ctx context.Context, person string) (personaldata.Key, error) {
	gen := k.generation()
	secret := make([]byte, personaldata.KeySize)
	if _, err := io.ReadFull(k.random, secret); err != nil {
		return personaldata.Key{}, fmt.Errorf("make the key of %s: %w", person, err)
	}
	ev := esdbclient.EventData{EventID: uuid.New(), EventType: keyType, ContentType: esdbclient.ContentTypeBinary, Data: secret}
	err := k.s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
		_, err := c.AppendToStream(ctx, keyStream(person), esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.NoStream{}}, ev)
		return err
	})
	switch {
	case err == nil:
		key, err := personaldata.NewKey(secret)
		if err != nil {
			return personaldata.Key{}, fmt.Errorf("the new key of %s: %w", person, err)
		}
		k.remember(person, key, gen)
		return key, nil
	case isCode(err, esdbclient.ErrorCodeStreamDeleted):
		key := personaldata.Key{Erased: true}
		k.remember(person, key, gen)
		return key, nil
	case isCode(err, esdbclient.ErrorCodeWrongExpectedVersion):
		// Another process created it first (or this one did, and the
		// acknowledgement was lost): its key is the person's.
		key, found, err := k.read(ctx, person)
		if err != nil {
			return personaldata.Key{}, err
		}
		if !found {
			return personaldata.Key{}, fmt.Errorf("create the key of %s: the server refused it as existing, yet it reads as absent", person)
		}
		k.remember(person, key, gen)
		return key, nil
	}
	return personaldata.Key{}, k.s.failure(ctx, fmt.Errorf("store the key of %s: %w", person, err))
}

// Erase tombstones a person's key stream; a second call is a no-op;
// personaldata.ErrNoKey when they never had a key.
func (k *KeyStore) Erase(ctx context.Context, person string) error {
	key, found, err := k.read(ctx, person)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s: %w", person, personaldata.ErrNoKey)
	}
	if !key.Erased {
		err := k.s.guard(ctx, func(ctx context.Context, c *esdbclient.Client) error {
			_, err := c.TombstoneStream(ctx, keyStream(person), esdbclient.TombstoneStreamOptions{ExpectedRevision: esdbclient.Any{}})
			return err
		})
		// Deleted already: another erasure of the person ran at once.
		if err != nil && !isCode(err, esdbclient.ErrorCodeStreamDeleted) {
			return k.s.failure(ctx, fmt.Errorf("erase the key of %s: tombstone its stream: %w", person, err))
		}
	}
	k.mu.Lock()
	k.gen++
	k.cache[person] = cachedKey{key: personaldata.Key{Erased: true}}
	k.mu.Unlock()
	return nil
}

// Forget drops a person's live key from the cache, so that the next
// lookup reads the server: the sealed decorator calls it when it reads the
// person's person.erased event, which an erasure appends only once the
// key is tombstoned.
func (k *KeyStore) Forget(person string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	if c, ok := k.cache[person]; ok && !c.key.Erased {
		delete(k.cache, person)
	}
}

// read reads a person's key stream: found is false when it does not
// exist; a tombstoned stream is an erased key.
func (k *KeyStore) read(ctx context.Context, person string) (personaldata.Key, bool, error) {
	if err := k.s.usable(ctx); err != nil {
		return personaldata.Key{}, false, err
	}
	stream := keyStream(person)
	evs, found, err := k.s.readStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: esdbclient.Forwards, From: esdbclient.Start{}}, 1)
	if isCode(err, esdbclient.ErrorCodeStreamDeleted) {
		return personaldata.Key{Erased: true}, true, nil
	}
	if err != nil {
		return personaldata.Key{}, false, fmt.Errorf("read the key of %s: %w", person, err)
	}
	if !found || len(evs) == 0 {
		return personaldata.Key{}, false, nil
	}
	ev := evs[0].OriginalEvent()
	if ev.EventType != keyType || len(ev.Data) != personaldata.KeySize {
		return personaldata.Key{}, false, fmt.Errorf("the key of %s is corrupt: %s@%d is a %q of %d bytes", person, stream, ev.EventNumber, ev.EventType, len(ev.Data))
	}
	key, err := personaldata.NewKey(bytes.Clone(ev.Data))
	if err != nil {
		return personaldata.Key{}, false, fmt.Errorf("the key of %s: %w", person, err)
	}
	return key, true, nil
}

func (k *KeyStore) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

func (k *KeyStore) cached(person string) (personaldata.Key, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.cache[person]
	if !ok || (!c.key.Erased && !k.now().Before(c.until)) {
		return personaldata.Key{}, false
	}
	return c.key, true
}

// remember caches a key read or created when no erasure or Forget came
// since gen; a full cache drops an arbitrary eighth of itself (map
// order), which is enough for a log read in order.
func (k *KeyStore) remember(person string, key personaldata.Key, gen uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen != gen && !key.Erased {
		return
	}
	if c, ok := k.cache[person]; ok && c.key.Erased {
		return
	}
	personaldata.MakeRoom(k.cache, k.maxCache)
	k.cache[person] = cachedKey{key: key.Cacheable(), until: k.now().Add(k.ttl)}
}
