package cabinet

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
	"lifesituations/domain/situation"
	"lifesituations/projections/derived"
)

// batch is the situations one batch of the fold touches, folded once from
// their stored logs (or taken from the cache of those folded by earlier
// batches) and written back once at the end, however many events of the
// batch concern them.
type batch struct {
	v     *derived.Batch
	cache *foldCache
	sits  map[uuid.UUID]*folded
	order []*folded
}

func newBatch(v *derived.Batch, cache *foldCache) *batch {
	return &batch{v: v, cache: cache, sits: map[uuid.UUID]*folded{}}
}

// apply folds one situation event and records the notifications it causes.
func (b *batch) apply(e eventstore.RecordedEvent) error {
	if e.Type == personaldata.TypeErased {
		return b.erase(e)
	}
	id, err := uuid.Parse(strings.TrimPrefix(e.Stream, situation.StreamPrefix))
	if err != nil {
		return fmt.Errorf("stream %s is not named by a situation id: %w", e.Stream, err)
	}
	f, err := b.load(id)
	if err != nil {
		return err
	}
	ev, err := trim(e.Type, e.Data)
	if err != nil {
		return err
	}
	before := f.outcomes()
	if err := f.fold(ev); err != nil {
		return err
	}
	return b.notify(f, e, before)
}

// load returns the situation as folded so far: from the cache, else
// folded from its stored log (empty when new).
func (b *batch) load(id uuid.UUID) (*folded, error) {
	if f, ok := b.sits[id]; ok {
		return f, nil
	}
	f, ok := b.cache.get(id)
	log := b.v.Get(bucketLogs, id[:])
	if ok && log != nil {
		f.log = bytes.Clone(log)
	} else {
		var err error
		if f, err = foldLog(id, log); err != nil {
			return nil, err
		}
	}
	b.sits[id] = f
	b.order = append(b.order, f)
	return f, nil
}

// foldLog folds a situation from its stored log v (nil when new).
func foldLog(id uuid.UUID, v []byte) (*folded, error) {
	f := newFolded(id)
	if v == nil {
		return f, nil
	}
	// The domain's fold decodes the openings and step decisions in one pass
	// (situation.DecodeOpened, DecodeStepDecided).
	err := eachEntry(v, func(e logEntry) error { return f.fold(event{logEntry: e}) })
	if err != nil {
		return nil, fmt.Errorf("refold situation %s: %w", id, err)
	}
	return f, nil
}

// flush writes every touched situation's log and rows with their indexes.
func (b *batch) flush() {
	for _, f := range b.order {
		b.write(f)
	}
}

func (b *batch) write(f *folded) {
	putRaw(b.v, bucketLogs, f.id[:], f.log)
	row, drafts, grants := f.rows()
	for _, p := range row.Viewers {
		putEntry(b.v, indexKey(p, kindSituation, row.OpenedAt, f.id), present)
	}
	for _, d := range drafts {
		for _, p := range people(d.Applicant, d.Beneficiary) {
			putEntry(b.v, indexKey(p, kindDraft, d.CreatedAt, d.ID), f.id[:])
		}
	}
	for _, g := range grants {
		for _, p := range people(g.Applicant, g.Beneficiary) {
			putEntry(b.v, indexKey(p, kindGrant, g.GrantedAt, g.ID), f.id[:])
		}
	}
}

// people lists the non-empty ids once each.
func people(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// putRaw stores raw under k unless the same bytes are there already.
func putRaw(v *derived.Batch, bucket, k, raw []byte) {
	if !bytes.Equal(v.Get(bucket, k), raw) {
		v.Put(bucket, k, raw)
	}
}

// present is the value of the situations' index entries: one byte, so
// that Get tells a present entry (non-nil) from an absent one.
var present = []byte{1}

// putEntry stores an entry of the people bucket unless it is there
// already (an entry's value never changes: its key names what it points
// to).
func putEntry(v *derived.Batch, k, val []byte) {
	if v.Get(bucketPeople, k) == nil {
		v.Put(bucketPeople, k, val)
	}
}
