package personaldata_test

import (
	"encoding/json"
	"fmt"
	"testing"

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
