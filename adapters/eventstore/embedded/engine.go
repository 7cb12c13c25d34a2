package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"

	"lifesituations/domain/eventstore"
)

// FileName is the store's Pebble directory inside the data directory.
const FileName = "events"

// legacyFileName is the bbolt file of format 1. Open refuses a directory
// that holds one rather than start an empty store beside it.
const legacyFileName = "events.db"

// Tuning for an append-mostly workload: big memtables so that a flush writes
// large sorted runs, bloom filters so that the id check of a new event (a
// random UUID, almost never stored) rarely reads a block. Pebble reserves
// the memtables (the live one and those being flushed) out of the block
// cache: the cache must be several memtables big or it caches nothing, and
// every lookup reads its filter block from disk.
const (
	memTableSize = 32 << 20
	blockCache   = 256 << 20
	// A store opened read only (audit verify, offline rebuilds) scans the
	// log, reading each block once a pass: a cache cannot serve a scan, and
	// each block it keeps is memory touched for the first time, which the
	// kernel clears. With 64 MiB instead of 256 a verification of a
	// million persons' year ran 3 - 8% faster with a peak 0.38 - 0.47 GB
	// lower (docs/performance.md, "Fifteenth session"). It still holds
	// the memtable a read-only open replays its write-ahead log into, and
	// the index and filter blocks of a stream read.
	readOnlyBlockCache = 64 << 20
	blockSize          = 16 << 10
	// Keys the writer looks up point-wise (ids, heads) are checked against
	// ~1% false positive bloom filters.
	bloomBitsPerKey = 10
)

// comparer is Pebble's default byte order under the same name, with Split
// declaring the whole key its prefix (as filters already treat it without
// one): SeekPrefixGE, which lookup uses, requires a Split.
var comparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Split = func(key []byte) int { return len(key) }
	return &c
}()

func pebbleOptions(lock *pebble.Lock, cache *pebble.Cache, background *backgroundCounters) *pebble.Options {
	listener := eventListener()
	background.listen(listener)
	opts := &pebble.Options{
		Comparer:                    comparer,
		Logger:                      quietLogger{},
		EventListener:               listener,
		Cache:                       cache,
		Lock:                        lock,
		FormatMajorVersion:          pebble.FormatNewest,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: 4,
		// Level 0 is compacted once 12 files have gathered, not 4: every
		// flush spans the whole key space (the log's new positions and
		// the indexes' random keys), so each compaction into the base
		// level rewrites most of it, and fewer, larger ones write a
		// quarter less (2.0 against 2.6 GB over a million persons' load
		// and burst) for 3.5% less CPU (docs/performance.md). Writes stop
		// at three times that, not earlier.
		L0CompactionThreshold: 12,
		L0StopWritesThreshold: 36,
		// A base level of 512 MiB, not 256: those compactions into it
		// then move less on down (1.4 against 1.9 GB written over the
		// same run, 3.5% less CPU again, docs/performance.md).
		LBaseMaxBytes: 512 << 20,
		// Two cores are shared with the appenders: one compaction at a time.
		MaxConcurrentCompactions: func() int { return 1 },
		Levels:                   make([]pebble.LevelOptions, 7),
	}
	for i := range opts.Levels {
		l := &opts.Levels[i]
		l.BlockSize = blockSize
		l.Compression = pebble.SnappyCompression
		l.FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
		l.FilterType = pebble.TableFilter
		l.TargetFileSize = 8 << 20
		if i > 0 {
			l.TargetFileSize = opts.Levels[i-1].TargetFileSize * 2
		}
	}
	return opts
}

// engine is the open Pebble database with the directory lock it holds.
type engine struct {
	db       *pebble.DB
	lock     *pebble.Lock
	readOnly bool
	// background counts Pebble's flushes and compactions.
	background *backgroundCounters
}

// openEngine opens the database in dir/FileName, creating it unless
// cfg.readOnly, waiting up to cfg.lockTimeout for another process to
// release it.
func openEngine(dir string, cfg config) (*engine, error) {
	readOnly := cfg.readOnly
	if _, err := os.Stat(filepath.Join(dir, legacyFileName)); err == nil {
		return nil, fmt.Errorf("%s holds a bbolt store (format 1) that this build does not read", filepath.Join(dir, legacyFileName))
	}
	path := filepath.Join(dir, FileName)
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no event store in %s: %w", dir, err)
		}
	} else if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, err
	}
	lock, err := lockDir(path, cfg.lockTimeout)
	if err != nil {
		return nil, err
	}
	cacheSize := int64(blockCache)
	if readOnly {
		cacheSize = readOnlyBlockCache
	}
	cache := pebble.NewCache(cacheSize)
	// The database holds its own reference.
	defer cache.Unref()
	background := &backgroundCounters{}
	opts := pebbleOptions(lock, cache, background)
	// Read only, Pebble neither flushes what it replays of its write-ahead
	// log nor compacts: a store a server has just left would otherwise
	// be compacted while an auditor reads it (5% of a verification's CPU).
	opts.ReadOnly = readOnly
	if cfg.fs != nil {
		opts.FS = cfg.fs
	}
	db, err := pebble.Open(path, opts)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &engine{db: db, lock: lock, readOnly: readOnly, background: background}, nil
}

// lockDir takes the directory lock, retrying until timeout: Pebble fails at
// once when the lock is held.
func lockDir(path string, timeout time.Duration) (*pebble.Lock, error) {
	deadline := time.Now().Add(timeout)
	for {
		lock, err := pebble.LockDirectory(path, vfs.Default)
		if err == nil {
			return lock, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s (in use by another store?): %w", path, err)
		}
		time.Sleep(min(50*time.Millisecond, timeout/4+time.Millisecond))
	}
}

func (e *engine) close() error {
	err := e.db.Close()
	return errors.Join(err, e.lock.Close())
}

// get returns a copy of the value of key appended to dst, or false when
// the key is absent.
func (e *engine) get(dst, key []byte) ([]byte, bool, error) {
	v, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, err
	}
	dst = append(dst, v...)
	return dst, true, closer.Close()
}

// lookup does the writer's point lookups of one commit. DB.Get skips the
// bloom filters of the last level, where a small store keeps all its
// tables, so checking a new event id would read an index and a data block;
// an iterator can use them all.
type lookup struct {
	eng *engine
	it  *pebble.Iterator
}

// get returns the value of key, valid until the next call, or false when
// the key is absent.
func (l *lookup) get(key []byte) ([]byte, bool, error) {
	if l.it == nil {
		it, err := l.eng.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
		if err != nil {
			return nil, false, err
		}
		l.it = it
	}
	if !l.it.SeekPrefixGE(key) || !bytes.Equal(l.it.Key(), key) {
		return nil, false, l.it.Error()
	}
	v, err := l.it.ValueAndErr()
	return v, err == nil, err
}

// reset closes the iterator: the next commit must see this one's writes.
// Close only repeats an error that get already returned.
func (l *lookup) reset() {
	if l.it != nil {
		_ = l.it.Close()
		l.it = nil
	}
}

// initFormat checks the format, starting the hash chain of a new store or
// sealing the records of a store of format 2, and returns where appends
// continue: the last position and the chain value after it.
func (e *engine) initFormat() (chainPoint, error) {
	f, ok, err := e.get(nil, keyFormat)
	switch {
	case err != nil:
		return chainPoint{}, fmt.Errorf("read format: %w", err)
	case e.readOnly && !ok:
		return chainPoint{}, errors.New("no store format recorded: an empty or foreign directory, which a read-only open does not start")
	case e.readOnly && len(f) == 1 && f[0] == storeFormatNoChain:
		return chainPoint{}, fmt.Errorf("store format %d: a server (lifesituations serve) must upgrade it to %d (hash chain) before it is read only", storeFormatNoChain, storeFormat)
	case !ok:
		if err := e.createChain(); err != nil {
			return chainPoint{}, fmt.Errorf("write format: %w", err)
		}
	case len(f) == 1 && f[0] == storeFormatNoChain:
		if err := e.sealUnchained(); err != nil {
			return chainPoint{}, fmt.Errorf("upgrade store format %d to %d (hash chain): %w", storeFormatNoChain, storeFormat, err)
		}
	case len(f) != 1 || f[0] != storeFormat:
		return chainPoint{}, fmt.Errorf("unsupported store format %v (this build reads %d and upgrades %d)", f, storeFormat, storeFormatNoChain)
	}
	tail, err := e.chainTail()
	if err != nil {
		return chainPoint{}, fmt.Errorf("chain head: %w", err)
	}
	return tail, nil
}

// lastPosition finds the last key of the log.
func (e *engine) lastPosition() (pos eventstore.Position, err error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: []byte{prefixLog + 1}})
	if err != nil {
		return 0, fmt.Errorf("last position: %w", err)
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	if !it.Last() {
		return 0, it.Error()
	}
	pos, err = u64(it.Key()[1:])
	if err != nil {
		return 0, fmt.Errorf("last position: %w", err)
	}
	return pos, nil
}
