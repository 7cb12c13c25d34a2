package register_test

import (
	"testing"

	"github.com/google/uuid"

	"lifesituations/domain/personaldata"
)

// TestErasedPersonReadsAsErased: person.erased scrubs the person's names
// and address, keeps every other fact, and leaves other persons alone.
func TestErasedPersonReadsAsErased(t *testing.T) {
	f := newFixture(t)
	mother, other := uuid.New(), uuid.New()
	f.register(mother, "Smirnova", "Anna", "1990-05-01", "F", "RU")
	f.register(other, "Petrova", "Olga", "1991-06-02", "F", "RU")
	f.append("person-"+mother.String(), "marriage.registered", map[string]any{
		"record_number": "M1", "spouse_ids": []string{mother.String(), other.String()}, "date": "2026-02-01",
		"new_family_names": map[string]string{mother.String(): "Kuznetsova"},
	})
	f.append("person-"+mother.String(), personaldata.TypeErased, personaldata.Erased{PersonID: mother.String(), Reason: "r"})
	got, ok := f.reg.Facts(mother.String())
	if !ok {
		t.Fatal("the erased person is no longer known")
	}
	for name, v := range map[string]string{"family_name": got.FamilyName, "given_name": got.GivenName,
		"address": got.Address, "previous_family_name": got.PreviousFamilyName} {
		if v != personaldata.Marker {
			t.Errorf("%s = %q after erasure", name, v)
		}
	}
	if got.BirthDate != "1990-05-01" || got.Citizenship != "RU" || got.Region != "RU-MOW" || len(got.Spouses) != 1 {
		t.Errorf("erasure took what is not personal: %+v", got)
	}
	if o, _ := f.reg.Facts(other.String()); o.FamilyName != "Petrova" {
		t.Errorf("the other spouse's name: %q", o.FamilyName)
	}
}
