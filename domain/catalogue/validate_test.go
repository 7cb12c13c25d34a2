package catalogue

import (
	"strings"
	"testing"
)

func TestValidateCorrections(t *testing.T) {
	cat := defaultCatalogue(t)
	tests := []struct {
		name    string
		service string
		fields  map[string]any
		want    []string // pointers
		detail  string
	}{
		{name: "valid", service: "child-allowance",
			fields: map[string]any{"bank_account": "40817810099910004312", "bik": "044525225", "phone": "+79161234567"}},
		{name: "not editable", service: "child-allowance", fields: map[string]any{"household_size": 9},
			want: []string{"/fields/household_size"}, detail: "not editable"},
		{name: "pattern", service: "child-allowance", fields: map[string]any{"bank_account": "4081", "bik": "044525225"},
			want: []string{"/fields/bank_account"}, detail: "20 digits"},
		{name: "type", service: "child-allowance", fields: map[string]any{"bank_account": 40817810099910004312.0},
			want: []string{"/fields/bank_account"}, detail: "expected a string"},
		{name: "every error, by field", service: "child-allowance", fields: map[string]any{"phone": "8-916", "bik": "1", "extra": true},
			want: []string{"/fields/bik", "/fields/extra", "/fields/phone"}},
		{name: "rule", service: "school-transfer", fields: map[string]any{"grade": float64(12)},
			want: []string{"/fields/grade"}, detail: "1 to 11"},
		{name: "int from JSON", service: "school-transfer", fields: map[string]any{"grade": float64(5), "school": "Школа № 7"}},
		{name: "not a whole number", service: "school-transfer", fields: map[string]any{"grade": 5.5},
			want: []string{"/fields/grade"}, detail: "whole number"},
		{name: "rule on a string", service: "foreign-passport-replacement", fields: map[string]any{"passport_type": "diplomatic"},
			want: []string{"/fields/passport_type"}},
		{name: "unknown service", service: "no-such-service", fields: map[string]any{"x": 1},
			want: []string{"/fields/x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := cat.ValidateCorrections(tc.service, tc.fields)
			var got []string
			for _, e := range errs {
				got = append(got, e.Pointer)
				if e.Text.RU == "" || e.Detail == "" {
					t.Errorf("error without words: %+v", e)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("pointers %v, want %v: %+v", got, tc.want, errs)
			}
			if tc.detail != "" && !strings.Contains(errs[0].Detail, tc.detail) {
				t.Fatalf("detail %q, want %q", errs[0].Detail, tc.detail)
			}
		})
	}
}
