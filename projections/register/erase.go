package register

import (
	"encoding/json"
	"fmt"

	"lifesituations/domain/personaldata"
)

// erase folds person.erased: the person's names and address read as
// erased, as a register rebuilt from the log gives them (the log's sealed
// fields then open as personaldata.Marker).
func (b *batch) erase(data []byte) error {
	var e personaldata.Erased
	if err := json.Unmarshal(data, &e); err != nil {
		return fmt.Errorf("decode %s: %w", personaldata.TypeErased, err)
	}
	f, err := b.edit(e.PersonID)
	if f == nil || err != nil {
		return err
	}
	for _, v := range []*string{&f.FamilyName, &f.GivenName, &f.Address, &f.PreviousFamilyName} {
		if *v != "" {
			*v = personaldata.Marker
		}
	}
	return nil
}
