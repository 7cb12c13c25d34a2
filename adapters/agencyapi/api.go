// Package agencyapi serves registry verification (CONTRACT.md section 4):
// GET /v1/registries/{registry}/entries/{entry_id}, for agencies and
// auditors. An agency checks the entry a grant made instead of asking the
// citizen for a paper; the answer holds what a verifier needs and no more,
// and every read is recorded in the log (who, what, when) before it is
// answered, for auditors to see.
package agencyapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"lifesituations/adapters/auditapi"
	"lifesituations/adapters/auth"
	"lifesituations/adapters/httpapi"
	"lifesituations/adapters/httpapi/problem"
	"lifesituations/domain/catalogue"
	"lifesituations/domain/eventstore"
	"lifesituations/projections/cabinet"
	"lifesituations/projections/entries"
)

// Entries finds the grant behind a registry entry (entries.Index).
type Entries interface {
	Lookup(registry string, id uuid.UUID) (entries.Entry, bool)
	WaitFor(ctx context.Context, pos eventstore.Position) error
}

// Grants holds the grants as they stand (cabinet.Cabinet).
type Grants interface {
	Grant(situation, id uuid.UUID) (cabinet.Grant, error)
	WaitFor(ctx context.Context, pos eventstore.Position) error
}

// Recorder records a read in the access stream, returning once the record
// is durable (auditapi.Recorder): auditors read the records back with GET
// /v1/audit/access.
type Recorder interface {
	Record(ctx context.Context, typ string, p auth.Principal, a auditapi.Access) error
}

// TypeEntryRead is the type of the access record of a registry entry read.
const TypeEntryRead = "access.registry_entry_read"

const route = "GET /v1/registries/{registry}/entries/{entry_id}"

// Config of the API.
type Config struct {
	Entries Entries
	Grants  Grants
	// Store's last position is what a lookup of an entry not indexed yet
	// waits for.
	Store    eventstore.Store
	Recorder Recorder
	Logger   *slog.Logger
	// Wait bounds how long a read waits for the index and the cabinet to
	// catch up with the log; 2 s when 0.
	Wait time.Duration
}

// API serves registry verification.
type API struct{ cfg Config }

// New returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Entries == nil || cfg.Grants == nil || cfg.Store == nil || cfg.Recorder == nil {
		return nil, errors.New("agencyapi: entries, grants, store and recorder are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Second
	}
	return &API{cfg: cfg}, nil
}

// Routes are the endpoints, for the roles agency and auditor.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{{
		Pattern: route,
		Roles:   []auth.Role{auth.RoleAgency, auth.RoleAuditor},
		Handler: http.HandlerFunc(a.getEntry),
	}}
}

// EntryRef names a registry entry.
type EntryRef struct {
	Registry string    `json:"registry"`
	EntryID  uuid.UUID `json:"entry_id"`
}

// Entry is a registry entry as a verifier sees it.
type Entry struct {
	Registry string         `json:"registry"`
	EntryID  uuid.UUID      `json:"entry_id"`
	Service  string         `json:"service"`
	Title    catalogue.Text `json:"title"`
	// Agency is the agency responsible for the service (its curator's).
	Agency      string `json:"agency"`
	Beneficiary string `json:"beneficiary"`
	// Status is valid, or withdrawn (the holder opted out, or a newer entry
	// replaced it: ReplacedBy).
	Status      string         `json:"status"`
	ValidFrom   time.Time      `json:"valid_from"`
	WithdrawnAt *time.Time     `json:"withdrawn_at"`
	ReplacedBy  *EntryRef      `json:"replaced_by"`
	LegalBasis  string         `json:"legal_basis"`
	Details     map[string]any `json:"details"`
}

// Entry statuses.
const (
	StatusValid     = "valid"
	StatusWithdrawn = "withdrawn"
)

// withheld are the grant's details a verifier never needs: the contact and
// payment data the applicant gave (phone, e-mail, bank account) and the
// household and income figures the eligibility was decided on (an auditor
// finds those in the decision, GET /v1/audit/explain/{id}).
var withheld = map[string]bool{
	"phone": true, "email": true, "bank_account": true, "bik": true,
	"household": true, "household_size": true, "income_year": true,
	"per_capita_income": true, "subsistence_minimum": true,
}

func (a *API) getEntry(w http.ResponseWriter, r *http.Request) {
	p, ok := httpapi.Principal(w, r, "registry entries are", auth.RoleAgency, auth.RoleAuditor)
	if !ok {
		return
	}
	registry, rawID := r.PathValue("registry"), r.PathValue("entry_id")
	var (
		view  Entry
		found bool
	)
	if id, err := uuid.Parse(rawID); err == nil {
		e, ok, err := a.find(r.Context(), registry, id)
		if err != nil {
			a.catchingUp(w, r, err)
			return
		}
		if ok {
			g, err := a.grant(r.Context(), e)
			if err != nil {
				a.catchingUp(w, r, err)
				return
			}
			view, found = a.view(e, g), true
		}
	}
	// Every answer about an entry, found or not, is recorded before it is
	// given: no record, no answer.
	rec := auditapi.Access{What: route, Path: r.URL.RequestURI(), Target: registry + "/" + rawID, Status: http.StatusNotFound}
	if found {
		rec.Person, rec.Status = view.Beneficiary, http.StatusOK
	}
	if err := a.cfg.Recorder.Record(r.Context(), TypeEntryRead, p, rec); err != nil {
		if r.Context().Err() != nil {
			return // the caller went away
		}
		a.cfg.Logger.Error("recording a registry entry read failed", "path", r.URL.Path, "err", err)
		problem.Write(w, auditapi.NotRecorded("read of a registry entry"))
		return
	}
	if !found {
		problem.Write(w, problem.NotFound(fmt.Sprintf("no entry %s in registry %s", rawID, registry)))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, view)
}

// find looks the entry up, and when it is not there waits for the index to
// fold everything stored when the request came, then looks again.
func (a *API) find(ctx context.Context, registry string, id uuid.UUID) (entries.Entry, bool, error) {
	if e, ok := a.cfg.Entries.Lookup(registry, id); ok {
		return e, true, nil
	}
	last, err := a.cfg.Store.LastPosition(ctx)
	if err != nil {
		return entries.Entry{}, false, err
	}
	wctx, cancel := context.WithTimeout(ctx, a.cfg.Wait)
	defer cancel()
	if err := a.cfg.Entries.WaitFor(wctx, last); err != nil {
		return entries.Entry{}, false, err
	}
	e, ok := a.cfg.Entries.Lookup(registry, id)
	return e, ok, nil
}

// grant reads the grant behind an entry once the cabinet has folded it.
func (a *API) grant(ctx context.Context, e entries.Entry) (cabinet.Grant, error) {
	wctx, cancel := context.WithTimeout(ctx, a.cfg.Wait)
	defer cancel()
	if err := a.cfg.Grants.WaitFor(wctx, e.Position); err != nil {
		return cabinet.Grant{}, err
	}
	return a.cfg.Grants.Grant(e.Situation, e.GrantID)
}

func (a *API) view(e entries.Entry, g cabinet.Grant) Entry {
	v := Entry{
		Registry: e.Registry, EntryID: e.EntryID, Service: g.Service, Title: g.Title, Agency: g.Curator.Agency,
		Beneficiary: g.Beneficiary, Status: StatusValid, ValidFrom: g.GrantedAt, LegalBasis: g.LegalBasis,
		Details: map[string]any{},
	}
	for k, val := range g.Details {
		if !withheld[k] {
			v.Details[k] = val
		}
	}
	if g.Status == cabinet.GrantWithdrawn {
		at := g.WithdrawnAt
		v.Status, v.WithdrawnAt = StatusWithdrawn, &at
	}
	if g.ReplacedBy != uuid.Nil {
		if next, err := a.cfg.Grants.Grant(g.ReplacedIn, g.ReplacedBy); err == nil {
			v.ReplacedBy = &EntryRef{Registry: next.Registry, EntryID: next.EntryID}
		}
	}
	return v
}

// catchingUp answers a read the index or the cabinet could not serve yet
// (they had not folded the log within the wait): nothing is disclosed, and
// nothing recorded.
func (a *API) catchingUp(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the caller went away
	}
	a.cfg.Logger.Warn("registry entry read: read models behind the log", "path", r.URL.Path, "err", err)
	p := problem.New(http.StatusServiceUnavailable, "catching-up", "Catching up",
		"the registry entries have not caught up with the log yet; try again")
	p.RetryAfter = time.Second
	problem.Write(w, p)
}
