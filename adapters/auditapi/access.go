package auditapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/auth"
	"lifesituations/domain/clock"
	"lifesituations/domain/eventstore"
)

// AccessStream holds a record of every read of personal data by an auditor
// or an agency: who read what, when. Auditors read it back with GET
// /v1/audit/access. Every type recorded there starts with "access.".
const AccessStream = "access"

// TypeAuditRead is an auditor's read of /v1/audit/....
const TypeAuditRead = "access.audit_read"

// Access is the data of an access record.
type Access struct {
	// Who read: the principal's subject and role.
	Who  string `json:"who"`
	Role string `json:"role"`
	// What: the route, the request's path and query, and the person or
	// the decision read.
	What   string `json:"what"`
	Path   string `json:"path"`
	Person string `json:"person,omitempty"`
	Target string `json:"target,omitempty"`
	// Status is the HTTP status answered.
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// Recorder appends access records.
type Recorder struct {
	Store eventstore.Store
	Clock clock.Clock
}

// Record appends one access record of type typ and returns once it is
// durable: a read is answered only once it is recorded.
func (r Recorder) Record(ctx context.Context, typ string, p auth.Principal, a Access) error {
	a.Who, a.Role = p.Subject, string(p.Role)
	if a.At.IsZero() {
		a.At = r.Clock.Now()
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode access record: %w", err)
	}
	_, err = r.Store.Append(ctx, AccessStream, eventstore.Any, eventstore.Event{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: data,
		Metadata: eventstore.Metadata{OccurredAt: a.At, Actor: string(p.Role) + ":" + p.Subject},
	})
	if err != nil {
		return fmt.Errorf("record the read: %w", err)
	}
	return nil
}
