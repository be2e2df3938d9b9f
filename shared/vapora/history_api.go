package vapora

import (
	"math"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// maxHistoryPage bounds a page of a card's history.
const maxHistoryPage = 500

// taskHistory serves GET /projects/{id}/tasks/{task}/history: a page of a
// card's history, oldest first (access: card).
func (a *API) taskHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 100, 1, maxHistoryPage)
	if err != nil {
		return err
	}
	offset, err := intParam(q, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	task, err := a.card(r)
	if err != nil {
		return err
	}
	h, err := a.store.History(r.Context(), task, offset, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, h)
	return nil
}

// maxExecutionsPage bounds the executions a card's details show.
const maxExecutionsPage = 200

// taskExecutions serves GET /projects/{id}/tasks/{task}/executions: the
// card's latest executions by agents, with tokens and cost, and the total.
// Access: card.
func (a *API) taskExecutions(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r.URL.Query(), "limit", 20, 1, maxExecutionsPage)
	if err != nil {
		return err
	}
	task, err := a.card(r)
	if err != nil {
		return err
	}
	ex, err := a.store.TaskExecutions(r.Context(), task, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ex)
	return nil
}

// card is the task of a /projects/{id}/tasks/{task}/… path that the caller
// may read, with its project (Cedar "read" on both); a task of another
// project is a 404, as a missing one.
func (a *API) card(r *http.Request) (string, error) {
	p, err := a.project(r.Context(), r.PathValue("id"), "read")
	if err != nil {
		return "", err
	}
	ref, err := a.taskRef(r.Context(), r.PathValue("task"), "read")
	if err != nil {
		return "", err
	}
	if ref.ProjectID != p.ID {
		return "", httpapi.NotFound("task %q not found in project %q", ref.ID, p.ID)
	}
	return ref.ID, nil
}
