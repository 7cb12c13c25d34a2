package esdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/esdb/esdbdouble"
	"lifesituations/adapters/eventstore/sealed"
	"lifesituations/adapters/eventstore/storetest"
	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// sealedOpener opens stores on one server through the personal-data
// decorator with the server's key store, as serve does with --store esdb.
func sealedOpener(url string) storetest.Opener {
	return func(t *testing.T) (eventstore.Store, func(*testing.T) eventstore.Store) {
		open := func(t *testing.T) eventstore.Store {
			t.Helper()
			s, err := Open(t.Context(), url, WithLogger(quiet))
			if err != nil {
				t.Fatalf("open %s: %v", url, err)
			}
			return sealed.New(s, s.Keys())
		}
		return open(t), open
	}
}

// TestContractSealedDouble runs the shared contract suite through the
// decorator over the adapter on the double: sealing is transparent.
func TestContractSealedDouble(t *testing.T) {
	d := startDouble(t, esdbdouble.WithSystemEvents(5))
	storetest.Run(t, sealedOpener(d.URL()), storetest.AppendManyInOrder())
}

// TestContractSealedRealServer is the same against a real server.
func TestContractSealedRealServer(t *testing.T) {
	url := os.Getenv("LIFESITUATIONS_ESDB_URL")
	if url == "" {
		t.Skip("LIFESITUATIONS_ESDB_URL not set: the sealed EventStoreDB contract suite did not run")
	}
	storetest.Run(t, sealedOpener(url), storetest.AppendManyInOrder())
}

// keyServer is the server the key store tests run on: the real one where
// LIFESITUATIONS_ESDB_URL is set (double is then nil), else the double.
func keyServer(t *testing.T) (string, *esdbdouble.Double) {
	if url := os.Getenv("LIFESITUATIONS_ESDB_URL"); url != "" {
		return url, nil
	}
	t.Log("LIFESITUATIONS_ESDB_URL not set: on the in-process DOUBLE, not a real server")
	d := startDouble(t)
	return d.URL(), d
}

func openOn(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, WithLogger(quiet))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestKeyStore: two processes (two clients, each with its own cache)
// racing to create the same persons' keys agree on them; an erasure on
// one is read as such by the other (at once when its cache has expired or
// it was told by the log, Forget); and no key is ever created again for an
// erased person, whoever asks.
func TestKeyStore(t *testing.T) {
	url, double := keyServer(t)
	ctx := t.Context()
	a := openOn(t, url).Keys()
	b := openOn(t, url).Keys(WithKeyCacheTTL(time.Hour))
	persons := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}

	if _, err := a.Lookup(ctx, persons[0]); !errors.Is(err, personaldata.ErrNoKey) {
		t.Fatalf("lookup before any key: %v, want ErrNoKey", err)
	}
	if err := a.Erase(ctx, persons[0]); !errors.Is(err, personaldata.ErrNoKey) {
		t.Fatalf("erase before any key: %v, want ErrNoKey", err)
	}

	// Racing creators: 4 goroutines on each client.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []map[string]personaldata.Key
	errs := make(chan error, 8)
	for i := range 8 {
		ks := a
		if i%2 == 1 {
			ks = b
		}
		wg.Go(func() {
			keys, err := ks.Ensure(ctx, persons)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			got = append(got, keys)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent ensure: %v", err)
	}
	for _, p := range persons {
		first := got[0][p]
		if first.Erased || len(first.Secret) != personaldata.KeySize {
			t.Fatalf("key of %s: %+v", p, first)
		}
		for _, keys := range got[1:] {
			if !bytes.Equal(keys[p].Secret, first.Secret) {
				t.Fatalf("two keys handed out for %s", p)
			}
		}
		if double != nil {
			if ids := double.StreamEventIDs(KeyStreamPrefix + p); len(ids) != 1 {
				t.Fatalf("the key stream of %s holds %d events, want 1", p, len(ids))
			}
		}
	}

	// Erased on a: a reads it at once; b, whose cache holds the live key
	// for an hour, reads it once the log tells it (Forget); a third
	// client with nothing cached reads it from the server.
	erased := persons[0]
	if _, err := b.Lookup(ctx, erased); err != nil {
		t.Fatal(err)
	}
	if err := a.Erase(ctx, erased); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := a.Erase(ctx, erased); err != nil {
		t.Fatalf("erase again: %v", err)
	}
	if double != nil && !double.Tombstoned(KeyStreamPrefix+erased) {
		t.Fatal("the key stream is not tombstoned")
	}
	wantErased := func(who string, ks *KeyStore) {
		t.Helper()
		k, err := ks.Lookup(ctx, erased)
		if err != nil || !k.Erased || k.Secret != nil {
			t.Fatalf("%s reads the erased key as %+v, %v", who, k, err)
		}
	}
	wantErased("the eraser", a)
	b.Forget(erased)
	wantErased("another process told by the log", b)
	c := openOn(t, url).Keys()
	wantErased("a fresh process", c)
	if k, err := c.Lookup(ctx, persons[1]); err != nil || !bytes.Equal(k.Secret, got[0][persons[1]].Secret) {
		t.Fatalf("someone else's key after the erasure: %+v, %v", k, err)
	}

	// No new key for the erased person: the server refuses the stream.
	d := openOn(t, url).Keys()
	keys, err := d.Ensure(ctx, []string{erased, uuid.NewString()})
	if err != nil {
		t.Fatalf("ensure after erasure: %v", err)
	}
	if !keys[erased].Erased {
		t.Fatalf("a key was created again for an erased person: %+v", keys[erased])
	}
	if double != nil {
		if ids := double.StreamEventIDs(KeyStreamPrefix + erased); len(ids) != 1 {
			t.Fatalf("the erased key stream holds %d events, want the original 1", len(ids))
		}
	}
}

// TestKeysStayOutOfTheLog: through the decorator, personal fields reach the
// server sealed; the key streams and their tombstones take no position,
// are never read or delivered as the port's events, and a reader of the
// log that meets person.erased opens what follows with the key erased.
func TestKeysStayOutOfTheLog(t *testing.T) {
	d := startDouble(t)
	ctx := t.Context()
	raw := openOn(t, d.URL())
	store := sealed.New(raw, raw.Keys(WithKeyCacheTTL(time.Hour)))
	person := uuid.NewString()
	reg := func() eventstore.Event {
		data, _ := json.Marshal(map[string]any{"person_id": person, "family_name": "Sealova", "given_name": "Anna", "address": "Moscow, Arbat 1", "birth_date": "1990-05-01"})
		return eventstore.Event{ID: uuid.New(), Type: "person.registered", SchemaVersion: 1, Data: data}
	}
	if _, err := store.Append(ctx, "person-"+person, eventstore.Any, reg()); err != nil {
		t.Fatal(err)
	}
	stored, err := raw.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored[0].Data, []byte("Sealova")) || !personaldata.Contains(stored[0].Data) {
		t.Fatalf("stored on the server: %s", stored[0].Data)
	}

	// A second process erases her (it tombstones the key, then the
	// erasure service appends person.erased).
	other := openOn(t, d.URL())
	if err := other.Keys().Erase(ctx, person); err != nil {
		t.Fatal(err)
	}
	erased, _ := json.Marshal(personaldata.Erased{PersonID: person})
	if _, err := raw.Append(ctx, "person-"+person, eventstore.Any, eventstore.Event{ID: uuid.New(), Type: personaldata.TypeErased, SchemaVersion: 1, Data: erased}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "person-"+person, eventstore.Any, reg()); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ReadStream(ctx, KeyStreamPrefix+person, 0, eventstore.Forwards, 1); !errors.Is(err, ErrInvalidStream) {
		t.Fatalf("read of a key stream through the port: %v, want ErrInvalidStream", err)
	}

	// Three port events, numbered 1..3, whatever the key stream and its
	// tombstone put in $all between them.
	if last, err := store.LastPosition(ctx); err != nil || last != 3 {
		t.Fatalf("last position %d, %v; want 3", last, err)
	}
	all, err := store.ReadAll(ctx, 0, eventstore.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range all {
		types = append(types, e.Type)
	}
	if len(all) != 3 || all[0].Position != 1 || all[2].Position != 3 {
		t.Fatalf("read all: %v", types)
	}
	// This process cached her live key (the first append) and another
	// erased it: read in log order, what follows person.erased opens with
	// the key erased (the registration appended after it was sealed with
	// the stale cached key, which the server no longer has), and so does
	// any read after.
	family := func(e eventstore.RecordedEvent) string {
		var v struct {
			FamilyName string `json:"family_name"`
		}
		_ = json.Unmarshal(e.Data, &v)
		return v.FamilyName
	}
	if got := family(all[2]); got != personaldata.Marker {
		t.Fatalf("the registration after the erasure reads %q, want the marker", got)
	}
	again, err := store.ReadStream(ctx, "person-"+person, 0, eventstore.Forwards, 10)
	if err != nil || family(again[0]) != personaldata.Marker {
		t.Fatalf("the first registration read again after the erasure: %v %v", again, err)
	}

	// A subscription from the start delivers the same three, then stops.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var delivered []eventstore.Position
	err = store.SubscribeAll(sctx, 0, eventstore.Filter{}, func(e eventstore.RecordedEvent) error {
		delivered = append(delivered, e.Position)
		if len(delivered) == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(delivered) != 3 || delivered[2] != 3 {
		t.Fatalf("subscription delivered %v (%v)", delivered, err)
	}
}
