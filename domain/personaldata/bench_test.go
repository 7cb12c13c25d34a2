package personaldata_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/personaldata"
)

// stepDecided is a step decision as the sagas append it: rules, values and
// parameters around a draft's pre-filled fields, a few of them personal.
func stepDecided() []byte {
	rules := make([]map[string]any, 6)
	for i := range rules {
		rules[i] = map[string]any{"rule": fmt.Sprintf("rule-%d", i), "passed": i%2 == 0, "legal_basis": "Федеральный закон № 81-ФЗ, ст. 17"}
	}
	data, _ := json.Marshal(map[string]any{
		"situation_id": "0b1f9c1e-3c7a-5c1e-9f7e-1c2d3e4f5a6b", "step_id": "5a6b7c8d-1e2f-5a3b-8c4d-5e6f7a8b9c0d",
		"decided_at": "2026-03-01T00:00:00Z",
		"decision": map[string]any{
			"key": "child-allowance", "step": "child-allowance", "service": "child-allowance",
			"title":  map[string]string{"ru": "Ежемесячное пособие", "en": "Monthly child allowance"},
			"agency": "sfr", "mode": "draft", "outcome": "drafted", "applicant": "9fe7f188-1d21-424f-aaed-c3a573fb9077",
			"beneficiary": "1d21424f-aaed-5c3a-973f-b90779fe7f18", "rules": rules,
			"values":   map[string]any{"per_capita_income": 21000.5, "threshold": 23000, "household": 3},
			"prefill":  map[string]any{"family_name": "Иванова", "given_name": "Мария", "address": "Москва, ул. Тверская, д. 1, кв. 5", "child_given_name": "Анна", "child_id": "1d21424f-aaed-5c3a-973f-b90779fe7f18", "amount": 12000},
			"editable": []string{"address", "bank_account"}, "deadline": "2026-08-28",
			"curator":     map[string]string{"name": "Социальный фонд", "contact": "8-800-100-00-01"},
			"legal_basis": "Федеральный закон № 81-ФЗ",
		},
	})
	return data
}

func BenchmarkTransformStepDecided(b *testing.B) {
	data := stepDecided()
	mark := func(owner string, v json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`"<` + owner + `>"`), nil
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := personaldata.Transform("situation.step_decided", data, mark); err != nil {
			b.Fatal(err)
		}
	}
}

// situationOpened is a situation's opening as the orchestrator appends it:
// the trigger's payload embedded and the facts of three persons.
func situationOpened() []byte {
	fact := func(id, family, given string) map[string]any {
		return map[string]any{"id": id, "family_name": family, "given_name": given, "birth_date": "1990-05-01",
			"sex": "F", "citizenship": "RU", "region": "RU-MOW", "address": "Москва, ул. Тверская, д. 1, кв. 5", "income": 42000}
	}
	data, _ := json.Marshal(map[string]any{
		"situation_id": "0b1f9c1e-3c7a-5c1e-9f7e-1c2d3e4f5a6b", "situation": "birth", "opened_at": "2026-03-01T00:00:00Z",
		"trigger": map[string]any{"type": "birth.registered", "stream": "person-1d21424f", "data": map[string]any{
			"child_id": "1d21424f-aaed-5c3a-973f-b90779fe7f18", "mother_id": "9fe7f188-1d21-424f-aaed-c3a573fb9077",
			"child_family_name": "Иванова", "child_given_name": "Анна", "birth_date": "2026-02-27", "address": "Москва, ул. Тверская, д. 1, кв. 5"}},
		"facts": map[string]any{
			"9fe7f188-1d21-424f-aaed-c3a573fb9077": fact("9fe7f188-1d21-424f-aaed-c3a573fb9077", "Иванова", "Мария"),
			"1d21424f-aaed-5c3a-973f-b90779fe7f18": fact("1d21424f-aaed-5c3a-973f-b90779fe7f18", "Иванова", "Анна"),
			"5c3a973f-b907-49fe-8f18-1d21424faaed": fact("5c3a973f-b907-49fe-8f18-1d21424faaed", "Иванов", "Пётр"),
		},
	})
	return data
}

// benchSeal finds the owners of a payload, then seals it, as the sealed
// store does on every append, with a key as a key store's cache hands it
// out (its cipher not made yet).
func benchSeal(b *testing.B, eventType string, data []byte) {
	secret := make([]byte, personaldata.KeySize)
	key := personaldata.Key{Secret: secret}
	seal := func(owner string, v json.RawMessage) (json.RawMessage, error) {
		return personaldata.Seal(key, owner, v, rand.Reader)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := personaldata.Owners(eventType, data); err != nil {
			b.Fatal(err)
		}
		if _, err := personaldata.Transform(eventType, data, seal); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealStepDecided(b *testing.B)     { benchSeal(b, "situation.step_decided", stepDecided()) }
func BenchmarkSealSituationOpened(b *testing.B) { benchSeal(b, "situation.opened", situationOpened()) }

// benchFind is the walks alone: the owners, then every value rewritten
// without cryptography.
func benchFind(b *testing.B, eventType string, data []byte) {
	mark := func(owner string, v json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`"<` + owner + `>"`), nil
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := personaldata.Owners(eventType, data); err != nil {
			b.Fatal(err)
		}
		if _, err := personaldata.Transform(eventType, data, mark); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOwnersTransformStepDecided(b *testing.B) {
	benchFind(b, "situation.step_decided", stepDecided())
}

func BenchmarkOwnersTransformSituationOpened(b *testing.B) {
	benchFind(b, "situation.opened", situationOpened())
}

// benchUnseal opens a sealed payload with keys as a key store's cache
// hands them out.
func benchUnseal(b *testing.B, eventType string, data []byte) {
	secret := make([]byte, personaldata.KeySize)
	key := personaldata.Key{Secret: secret}
	sealed, err := personaldata.Transform(eventType, data, func(owner string, v json.RawMessage) (json.RawMessage, error) {
		return personaldata.Seal(key, owner, v, rand.Reader)
	})
	if err != nil {
		b.Fatal(err)
	}
	keyOf := func(string) (personaldata.Key, error) { return key, nil }
	b.SetBytes(int64(len(sealed)))
	for b.Loop() {
		if _, err := personaldata.Unseal(sealed, keyOf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnsealStepDecided(b *testing.B) {
	benchUnseal(b, "situation.step_decided", stepDecided())
}
func BenchmarkUnsealSituationOpened(b *testing.B) {
	benchUnseal(b, "situation.opened", situationOpened())
}

// BenchmarkUnsealNoEnvelope is the check every reader makes of a payload
// with nothing sealed in it.
func BenchmarkUnsealNoEnvelope(b *testing.B) {
	data := stepDecided()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := personaldata.Unseal(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchOnePass seals as the sealed store does since it searches each
// payload once: Find for the owners, their keys made ready, then Rewrite.
func benchOnePass(b *testing.B, eventType string, data []byte) {
	key, err := personaldata.Key{Secret: make([]byte, personaldata.KeySize)}.Ready()
	if err != nil {
		b.Fatal(err)
	}
	seal := func(owner string, v json.RawMessage) (json.RawMessage, error) {
		return personaldata.Seal(key, owner, v, rand.Reader)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := personaldata.Find(eventType, data)
		if err != nil || len(f.Owners()) == 0 {
			b.Fatal(err)
		}
		if _, err := f.Rewrite(seal); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOnePassStepDecided(b *testing.B) {
	benchOnePass(b, "situation.step_decided", stepDecided())
}
func BenchmarkOnePassSituationOpened(b *testing.B) {
	benchOnePass(b, "situation.opened", situationOpened())
}

// BenchmarkKeyTableKey looks up keys at random in a table of a million
// persons, as a verification or the key store's cache does.
func BenchmarkKeyTableKey(b *testing.B) {
	const n = 1_000_000
	tab := personaldata.NewKeyTable()
	persons := make([]string, n)
	secret := bytes.Repeat([]byte{7}, personaldata.KeySize)
	for i := range persons {
		persons[i] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))).String()
		if err := tab.Add(persons[i], personaldata.Key{Secret: secret}); err != nil {
			b.Fatal(err)
		}
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for b.Loop() {
		if _, ok := tab.Key(persons[rng.IntN(n)]); !ok {
			b.Fatal("not held")
		}
	}
}
