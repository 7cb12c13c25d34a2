package personaldata

import "time"

// TypeErased is the event that records an erasure, in the person's stream.
// It carries no personal data: who asked, who approved, when and why.
const TypeErased = "person.erased"

// Erased is the data of TypeErased.
type Erased struct {
	PersonID    string    `json:"person_id"`
	RequestID   string    `json:"request_id"`
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	ApprovedBy  string    `json:"approved_by"`
	ErasedAt    time.Time `json:"erased_at"`
}
