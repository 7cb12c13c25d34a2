package webcabinet

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"lifesituations/domain/eventstore"
	"lifesituations/domain/situation"
	"lifesituations/projections/cabinet"
)

// latestShown is how many notifications the home page shows.
const latestShown = 3

// homeData is the home page: what waits for the citizen, every situation
// with its steps, the latest notifications.
type homeData struct {
	Waiting    []cabinet.Draft
	Situations []cabinet.Situation
	Latest     []cabinet.Notification
}

// home: GET /.
func (s *Server) home(w http.ResponseWriter, r *http.Request, v *view, person string) {
	sits, err := s.cfg.ReadModel.Situations(person)
	if err != nil {
		s.internal(w, r, v, err)
		return
	}
	drafts, err := s.cfg.ReadModel.Drafts(person)
	if err != nil {
		s.internal(w, r, v, err)
		return
	}
	notes, err := s.cfg.ReadModel.Notifications(person)
	if err != nil {
		s.internal(w, r, v, err)
		return
	}
	d := homeData{Situations: sits, Latest: notes[:min(len(notes), latestShown)]}
	for _, dr := range drafts {
		if dr.Status == situation.StatusOpen && dr.Applicant == person {
			d.Waiting = append(d.Waiting, dr)
		}
	}
	// The nearest deadline first.
	slices.SortStableFunc(d.Waiting, func(a, b cabinet.Draft) int { return strings.Compare(string(a.Deadline), string(b.Deadline)) })
	v.Nav, v.Title, v.Data = "home", v.T("home.title"), d
	s.render(w, r, http.StatusOK, "home", v)
}

// notificationsPage: GET /notifications, newest first.
func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, v *view, person string) {
	notes, err := s.cfg.ReadModel.Notifications(person)
	if err != nil {
		s.internal(w, r, v, err)
		return
	}
	v.Nav, v.Title, v.Data = "notifications", v.T("notes.title"), notes
	s.render(w, r, http.StatusOK, "notifications", v)
}

// pathID is the {id} of the path; false when it is not a UUID, which names
// nothing the citizen sees.
func pathID(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil
}

// fromPath reads with get what the {id} of the path names for person,
// answering 404 when the id is no UUID or names nothing person sees.
func fromPath[T any](s *Server, w http.ResponseWriter, r *http.Request, v *view, person string, get func(person string, id uuid.UUID) (T, error)) (T, bool) {
	var none T
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r, v)
		return none, false
	}
	x, err := get(person, id)
	if err != nil {
		s.readFailed(w, r, v, err)
		return none, false
	}
	return x, true
}

// notFound answers as if nothing were there: never a hint that it is
// someone else's.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, v *view) {
	s.errorPage(w, r, v, http.StatusNotFound, "error.notFound")
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, v *view, err error) {
	s.log.Error("web cabinet request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.errorPage(w, r, v, http.StatusInternalServerError, "error.internal")
}

// readFailed answers a read model failure.
func (s *Server) readFailed(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if errors.Is(err, cabinet.ErrNotFound) {
		s.notFound(w, r, v)
		return
	}
	s.internal(w, r, v, err)
}

// commandFailed answers a command's error not handled by the form itself.
func (s *Server) commandFailed(w http.ResponseWriter, r *http.Request, v *view, err error) {
	switch {
	case errors.Is(err, situation.ErrNotFound):
		s.notFound(w, r, v)
	case errors.Is(err, situation.ErrInvalid):
		s.errorPage(w, r, v, http.StatusBadRequest, "error.badRequest")
	case errors.Is(err, eventstore.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		s.errorPage(w, r, v, http.StatusServiceUnavailable, "error.busy")
	default:
		s.internal(w, r, v, err)
	}
}

// commandDone answers a command given: with conflict, when set, for a
// situation.ErrConflict, with commandFailed for any other error, and
// otherwise, once the read model shows the result, by redirecting to the
// page to.
func (s *Server) commandDone(w http.ResponseWriter, r *http.Request, v *view, pos eventstore.Position, err error, conflict func(), to string) {
	switch {
	case conflict != nil && errors.Is(err, situation.ErrConflict):
		conflict()
	case err != nil:
		s.commandFailed(w, r, v, err)
	case s.await(w, r, v, pos):
		redirect(w, r, to)
	}
}

// redirect sends the browser to the page showing a command's result
// (post/redirect/get: reloading it sends nothing again).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	pageHeaders(w)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
