package typedialog

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// maxSessionRefs bounds the session owners an instance remembers.
const maxSessionRefs = 1 << 16

// sessionRef is what never changes in a session: who owns it and which form
// version it answers. Cedar decides on it.
type sessionRef struct {
	ID, Owner, FormID, Version string
}

// session reads a session the caller may answer; another caller's is a 404.
func (a *API) session(r *http.Request) (sessionRow, parsedForm, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return sessionRow{}, parsedForm{}, httpapi.BadRequest("session id %q is malformed", id)
	}
	s, err := a.store.Session(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		return sessionRow{}, parsedForm{}, httpapi.NotFound("session %q not found", id)
	}
	if err != nil {
		return sessionRow{}, parsedForm{}, err
	}
	p, err := a.authorizeSession(r, a.remember(s))
	return s, p, err
}

// sessionRef finds a session the caller may answer without reading its
// answers when this instance has seen it (PATCH writes them in one
// statement that checks the session is still open).
func (a *API) sessionRef(r *http.Request) (sessionRef, parsedForm, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return sessionRef{}, parsedForm{}, httpapi.BadRequest("session id %q is malformed", id)
	}
	a.mu.Lock()
	ref, ok := a.refs[id]
	a.mu.Unlock()
	if !ok {
		s, err := a.store.Session(r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			return sessionRef{}, parsedForm{}, httpapi.NotFound("session %q not found", id)
		}
		if err != nil {
			return sessionRef{}, parsedForm{}, err
		}
		ref = a.remember(s)
	}
	p, err := a.authorizeSession(r, ref)
	return ref, p, err
}

// authorizeSession asks Cedar whether the caller may answer the session
// (a 404 if not) and reads its form version.
func (a *API) authorizeSession(r *http.Request, ref sessionRef) (parsedForm, error) {
	if !a.allowed(r.Context(), "answer", sessionEntity(ref)) {
		return parsedForm{}, httpapi.NotFound("session %q not found", ref.ID)
	}
	p, err := a.version(r.Context(), ref.FormID, ref.Version)
	if err != nil {
		return parsedForm{}, fmt.Errorf("form of session %s: %w", ref.ID, err)
	}
	return p, nil
}

// remember keeps a session's owner and form, and its answers, for the
// next request.
func (a *API) remember(s sessionRow) sessionRef {
	a.keep(s)
	ref := sessionRef{ID: s.ID, Owner: s.Owner, FormID: s.FormID, Version: s.Version}
	a.mu.Lock()
	if len(a.refs) >= maxSessionRefs {
		clear(a.refs)
	}
	a.refs[s.ID] = ref
	a.mu.Unlock()
	return ref
}
