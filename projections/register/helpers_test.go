package register_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/eventstore/embedded"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/register"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	dir   string
	store eventstore.Store
	reg   *register.Projection
	stop  func()
	// opts are the options open opens the register with.
	opts []register.Option
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := embedded.Open(t.TempDir(), embedded.WithClock(clock.NewManual(start)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f := &fixture{t: t, dir: t.TempDir(), store: store}
	f.open(store)
	return f
}

// open opens the register and runs it against store until the test ends
// or f.close.
func (f *fixture) open(store eventstore.Store) {
	f.t.Helper()
	reg, err := register.OpenProjection(filepath.Join(f.dir, "register.db"), f.opts...)
	if err != nil {
		f.t.Fatalf("open register: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := reg.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
			f.t.Errorf("run: %v", err)
		}
	})
	f.reg = reg
	f.stop = sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if err := reg.Close(); err != nil {
			f.t.Errorf("close register: %v", err)
		}
	})
	f.t.Cleanup(f.stop)
}

// append stores one event and waits for the register to fold it.
func (f *fixture) append(stream, eventType string, data any) eventstore.Position {
	f.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		f.t.Fatalf("encode %s: %v", eventType, err)
	}
	res, err := f.store.Append(context.Background(), stream, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: eventType, SchemaVersion: 1, Data: raw,
		Metadata: eventstore.Metadata{OccurredAt: start},
	})
	if err != nil {
		f.t.Fatalf("append %s: %v", eventType, err)
	}
	if err := f.reg.WaitFor(context.Background(), res.Position); err != nil {
		f.t.Fatalf("wait for %d: %v", res.Position, err)
	}
	return res.Position
}

func (f *fixture) register(id uuid.UUID, family, given, born, sex, citizenship string) {
	f.t.Helper()
	f.append("person-"+id.String(), "person.registered", map[string]any{
		"person_id": id, "family_name": family, "given_name": given, "birth_date": born, "sex": sex,
		"citizenship": citizenship, "region": "RU-MOW", "time_zone": "Europe/Moscow", "address": "Moscow, Tverskaya 1",
	})
}

func (f *fixture) birth(child, mother uuid.UUID, father *uuid.UUID, born string) {
	f.t.Helper()
	data := map[string]any{
		"record_number": "770-" + child.String()[:4], "child_id": child, "child_family_name": "Ivanov",
		"child_given_name": "Petr", "birth_date": born, "sex": "M", "mother_id": mother,
		"region": "RU-SPE", "time_zone": "Europe/Moscow", "address": "Saint Petersburg, Nevsky 2",
	}
	if father != nil {
		data["father_id"] = *father
	}
	f.append("person-"+mother.String(), "birth.registered", data)
}

func (f *fixture) person(id uuid.UUID) register.Facts {
	f.t.Helper()
	p, ok := f.reg.Facts(id.String())
	if !ok {
		f.t.Fatalf("person %s is not in the register", id)
	}
	return p
}
