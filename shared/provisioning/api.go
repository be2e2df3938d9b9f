package provisioning

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Spec is provisioning-workflows' HTTP surface. It also serves
// Provisioning's OpenAPI document.
var Spec = httpapi.Spec[*API]{Auth: func(a *API) func(http.Handler) http.Handler { return a.auth.Middleware }, Ops: []httpapi.Op[*API]{
	httpapi.DocumentOp[*API](schemas.OpenAPIDocument("provisioning")),
	{Method: "POST", Path: "/workflows", Summary: "Submit a workflow (201; the same id again: 200 with the stored one), or plan it with ?dry_run=true",
		In: Workflow{}, Out: SubmitResponse{}, Status: http.StatusCreated, AlsoStatus: []int{http.StatusOK},
		Query:  []httpapi.Param{{Name: "dry_run", Type: "boolean", Description: "plan only: order, parallel waves, cost; nothing is stored"}},
		Handle: (*API).submit},
	{Method: "GET", Path: "/workflows", Summary: "List workflows, newest first", Out: WorkflowList{},
		Query: []httpapi.Param{{Name: "status", Description: strings.Join(statuses, ", ")},
			{Name: "limit", Type: "integer", Description: "1–500 (default 100)"}},
		Handle: (*API).list},
	{Method: "GET", Path: "/workflows/{id}", Summary: "A workflow with each task's state, attempts, timings and resource",
		Out: WorkflowState{}, Handle: (*API).get},
	{Method: "POST", Path: "/workflows/{id}/cancel", Summary: "Cancel: running steps finish, then what was made is rolled back",
		Out: WorkflowState{}, Status: http.StatusAccepted, Handle: (*API).cancel},
	{Method: "POST", Path: "/workflows/{id}/resume", Summary: "Run a rolled-back workflow again from its failed step",
		Out: WorkflowState{}, Status: http.StatusAccepted, Handle: (*API).resume},
}}

var statuses = []string{StatusPending, StatusRunning, StatusSucceeded, StatusCancelling, StatusRollingBack, StatusRolledBack, StatusRollbackFailed}

type (
	// SubmitResponse is POST /workflows: the workflow, or with dry_run its plan.
	SubmitResponse struct {
		Workflow *WorkflowState `json:"workflow,omitempty"`
		Plan     *Plan          `json:"plan,omitempty"`
	}
	// WorkflowList is GET /workflows.
	WorkflowList struct {
		Workflows []Summary `json:"workflows"`
	}
)

// API serves provisioning-workflows.
type API struct {
	store *Store
	pub   Publisher
	authz *authz.Engine
	auth  *principal.Authenticator
}

// NewAPI builds the API: auth authenticates callers, engine decides with
// schemas/cedar/provisioning.
func NewAPI(store *Store, pub Publisher, engine *authz.Engine, auth *principal.Authenticator) *API {
	return &API{store: store, pub: pub, authz: engine, auth: auth}
}

var errForbidden = httpapi.Errorf(http.StatusForbidden, "forbidden", "not allowed")

// allow asks Cedar whether the caller may do action on a workflow of
// environment in scope.
func (a *API) allow(ctx context.Context, action, id, environment, scope string) error {
	wf := authz.Entity(cedar.NewEntityUID("Workflow", cedar.String(id)),
		cedar.RecordMap{"environment": cedar.String(environment), "scope": cedar.String(scope)})
	if !a.authz.Allows(ctx, action, wf) {
		return errForbidden
	}
	return nil
}

// submitScope is the scope a submitted workflow goes to: the one it names,
// which the caller must hold, or the caller's first.
func submitScope(ctx context.Context, named string) (string, error) {
	p := principal.From(ctx)
	switch {
	case p == nil:
		return "", errForbidden
	case named != "":
		if err := principal.ValidScope(named); err != nil {
			return "", httpapi.BadRequest("%v", err)
		}
		if !p.HasScope(named) {
			return "", httpapi.Errorf(http.StatusForbidden, "forbidden", "scope %q: you do not hold it", named)
		}
		return named, nil
	case len(p.Scopes) == 0:
		return "", httpapi.Errorf(http.StatusForbidden, "forbidden", "you hold no scope: a workflow belongs to one")
	}
	return p.Scopes[0], nil
}

func (a *API) submit(w http.ResponseWriter, r *http.Request) error {
	var in Workflow
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	dry := r.URL.Query().Get("dry_run")
	if dry != "" && dry != "true" && dry != "false" {
		return httpapi.BadRequest("query parameter \"dry_run\": %q, want true or false", dry)
	}
	p, err := Prepare(in)
	if err != nil {
		return httpapi.BadRequest("%s", err.Error())
	}
	if p.Scope != "" || dry != "true" { // a plan stores nothing: it needs no scope
		if p.Scope, err = submitScope(r.Context(), p.Scope); err != nil {
			return err
		}
	}
	if dry == "true" {
		if err := a.allow(r.Context(), "plan", "plan", p.Environment, p.Scope); err != nil {
			return err
		}
		plan := MakePlan(p)
		httpapi.WriteJSON(w, http.StatusOK, SubmitResponse{Plan: &plan})
		return nil
	}
	if p.ID == "" {
		p.ID = newID()
	}
	if err := a.allow(r.Context(), "submit", p.ID, p.Environment, p.Scope); err != nil {
		return err
	}
	st, created, err := a.store.Create(r.Context(), p)
	if err != nil {
		return err
	}
	if !created && a.allow(r.Context(), "read", st.ID, st.Environment, st.Scope) != nil {
		// another scope's workflow has this id: say nothing of it
		return httpapi.Errorf(http.StatusConflict, "conflict", "workflow id %q is taken", st.ID)
	}
	if st.Status == StatusPending { // also after a publish lost by an earlier submit
		id := fmt.Sprintf("%s:submitted:%d", st.ID, st.Run)
		if _, err := a.pub.Publish(r.Context(), events.SubjectWorkflowSubmitted, id,
			events.WorkflowEvent{ID: id, WorkflowID: st.ID, Run: st.Run}, nil); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/workflows/"+st.ID)
	}
	httpapi.WriteJSON(w, status, SubmitResponse{Workflow: &st})
	return nil
}

func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "wf-" + time.Now().UTC().Format("20060102-150405") + "-" +
		strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// read loads the workflow of the path; one the caller may not read is a 404.
func (a *API) read(r *http.Request, action string) (WorkflowState, error) {
	id := r.PathValue("id")
	if !WorkflowIDPattern.MatchString(id) {
		return WorkflowState{}, httpapi.BadRequest("workflow id %q is malformed", id)
	}
	st, err := a.store.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && a.allow(r.Context(), "read", id, st.Environment, st.Scope) != nil) {
		return st, httpapi.NotFound("workflow %q not found", id)
	}
	if err != nil {
		return st, err
	}
	if action != "read" {
		if err := a.allow(r.Context(), action, id, st.Environment, st.Scope); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	st, err := a.read(r, "read")
	if err != nil {
		return err
	}
	if st.Steps, err = a.store.Steps(r.Context(), st.ID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(statuses, status) {
		return httpapi.BadRequest("query parameter \"status\": %q, want one of %s", status, strings.Join(statuses, ", "))
	}
	limit, err := httpapi.QueryInt(r, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	// the store keeps to the caller's scopes; Cedar decides each row
	rows, err := a.store.List(r.Context(), principal.From(r.Context()).Scopes, status, limit)
	if err != nil {
		return err
	}
	visible := rows[:0]
	for _, w := range rows {
		if a.allow(r.Context(), "read", w.ID, w.Environment, w.Scope) == nil {
			visible = append(visible, w)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, WorkflowList{Workflows: visible})
	return nil
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) error {
	st, err := a.read(r, "cancel")
	if err != nil {
		return err
	}
	ok, err := a.store.Cancel(r.Context(), st.ID)
	if err != nil {
		return err
	}
	if !ok {
		return httpapi.Errorf(http.StatusConflict, "conflict", "workflow %q is %s; only a Pending or Running workflow can be cancelled", st.ID, st.Status)
	}
	return a.nudge(w, r, st.ID, events.SubjectWorkflowCancelled, st.Run)
}

func (a *API) resume(w http.ResponseWriter, r *http.Request) error {
	st, err := a.read(r, "resume")
	if err != nil {
		return err
	}
	run, ok, err := a.store.Resume(r.Context(), st.ID)
	if err != nil {
		return err
	}
	if !ok {
		return httpapi.Errorf(http.StatusConflict, "conflict", "workflow %q is %s; only a RolledBack or RollbackFailed workflow can be resumed", st.ID, st.Status)
	}
	return a.nudge(w, r, st.ID, events.SubjectWorkflowResumed, run)
}

// nudge tells the orchestrator a workflow changed and answers with it.
func (a *API) nudge(w http.ResponseWriter, r *http.Request, id, subject string, run int) error {
	kind := subject[strings.LastIndex(subject, ".")+1:]
	msgID := fmt.Sprintf("%s:%s:%d", id, kind, run)
	if _, err := a.pub.Publish(r.Context(), subject, msgID, events.WorkflowEvent{ID: msgID, WorkflowID: id, Run: run}, nil); err != nil {
		return err
	}
	st, err := a.store.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, st)
	return nil
}
