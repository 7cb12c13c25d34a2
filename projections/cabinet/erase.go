package cabinet

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/personaldata"
)

// folds reports whether the cabinet folds the event: situation events, and
// erasures, which scrub what the cabinet kept.
func folds(e eventstore.RecordedEvent) bool {
	return isSituation(e.Stream) || e.Type == personaldata.TypeErased
}

// erase folds person.erased: every situation the person sees is folded
// again from its kept log with their personal values (those sealed with
// their key: what they were pre-filled, what they wrote) replaced by the
// marker, so the cabinet shows what a rebuild from the log would. Copies of
// their values in someone else's application follow that applicant's key
// and stay.
func (b *batch) erase(e eventstore.RecordedEvent) error {
	var er personaldata.Erased
	if err := json.Unmarshal(e.Data, &er); err != nil {
		return fmt.Errorf("decode %s: %w", e.Type, err)
	}
	var ids []uuid.UUID
	if err := b.v.Scan(bucketPeople, personPrefix(er.PersonID, kindSituation), false, func(k, _ []byte) error {
		ids = append(ids, idOf(k))
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		f, err := b.load(id)
		if err != nil {
			return err
		}
		log, err := f.entries()
		if err != nil {
			return err
		}
		scrubbed := newFolded(id)
		for _, entry := range log {
			data, err := personaldata.EraseOwned(entry.Type, entry.Data, er.PersonID)
			if err != nil {
				return fmt.Errorf("erase in situation %s: %w", id, err)
			}
			if err := scrubbed.fold(event{logEntry: logEntry{Type: entry.Type, Data: data}}); err != nil {
				return fmt.Errorf("refold situation %s: %w", id, err)
			}
		}
		*f = *scrubbed
	}
	return nil
}
