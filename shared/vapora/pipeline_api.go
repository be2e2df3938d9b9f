package vapora

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// PipelinesSpec is vapora-pipelines' HTTP surface.
var PipelinesSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	{Method: "POST", Path: "/pipelines", Summary: "Create a pipeline and start its first stage", In: pipelineInput{}, Out: Pipeline{},
		Status: http.StatusCreated, Handle: (*API).createPipeline},
	{Method: "GET", Path: "/pipelines", Summary: "A project's pipelines, newest first", Out: PipelineList{},
		Query: []httpapi.Param{{Name: "project_id", Required: true, Description: "the project"},
			{Name: "limit", Type: "integer", Description: "1–500 (default 100)"}},
		Handle: (*API).listPipelines},
	{Method: "GET", Path: "/pipelines/{id}", Summary: "A pipeline with every stage", Out: Pipeline{}, Handle: (*API).getPipeline},
	{Method: "POST", Path: "/pipelines/{id}/approve", Summary: "Approve or reject a stage awaiting approval", In: approveInput{}, Out: Pipeline{},
		Handle: (*API).approvePipeline},
	{Method: "POST", Path: "/pipelines/{id}/cancel", Summary: "Cancel a pipeline: no stage starts any more, the running task is released",
		Out: Pipeline{}, Handle: (*API).cancelPipeline},
}}

type (
	stageDef struct {
		Name     string        `json:"name"`
		TaskType string        `json:"task_type"`
		Role     string        `json:"role"`
		Title    string        `json:"title,omitempty"`
		Approval *ApprovalGate `json:"approval,omitempty"`
		Rollback *RollbackSpec `json:"rollback,omitempty"`
	}
	pipelineInput struct {
		ProjectID string     `json:"project_id"`
		Name      string     `json:"name"`
		Stages    []stageDef `json:"stages"`
	}
	approveInput struct {
		Stage    string `json:"stage"`
		Decision string `json:"decision"`
		Comment  string `json:"comment,omitempty"`
	}
	// PipelineList is GET /pipelines.
	PipelineList struct {
		Pipelines []Pipeline `json:"pipelines"`
	}
)

// pipelineError maps the engine's errors to answers.
func pipelineError(err error) error {
	var se *StageError
	var ce *ConflictError
	switch {
	case errors.As(err, &se):
		return httpapi.BadRequest("%s", se.Error())
	case errors.As(err, &ce):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", ce.Msg)
	}
	return storeError(err)
}

func (a *API) createPipeline(w http.ResponseWriter, r *http.Request) error {
	var in pipelineInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		return httpapi.BadRequest("name: required, at most 200 bytes")
	}
	if in.ProjectID == "" {
		return httpapi.BadRequest("project_id: required")
	}
	stages := make([]Stage, len(in.Stages))
	for i, d := range in.Stages {
		stages[i] = Stage{Name: d.Name, TaskType: d.TaskType, Role: d.Role, Title: d.Title, Approval: d.Approval, Rollback: d.Rollback}
	}
	p, err := a.project(r.Context(), in.ProjectID, "write")
	if err != nil {
		return err
	}
	if err := GateApprovers(p, stages); err != nil {
		return pipelineError(err)
	}
	if err := CheckStages(stages); err != nil {
		return pipelineError(err)
	}
	if p.Status == "Archived" {
		return httpapi.Errorf(http.StatusConflict, "conflict", "project %s is archived", p.ID)
	}
	created, err := a.pipes.Create(r.Context(), p, strings.TrimSpace(in.Name), principal.From(r.Context()).Person, stages)
	if err != nil {
		return pipelineError(err)
	}
	w.Header().Set("Location", "/pipelines/"+created.ID)
	httpapi.WriteJSON(w, http.StatusCreated, a.withAgents(r.Context(), created))
	return nil
}

// pipeline reads a pipeline the caller may act on (another scope's is a 404).
func (a *API) pipeline(ctx context.Context, id, action string) (Pipeline, error) {
	if !idPattern.MatchString(id) {
		return Pipeline{}, httpapi.BadRequest("pipeline id %q is malformed", id)
	}
	p, err := a.store.Pipeline(ctx, id)
	proj := projectEntity(Project{ID: p.ProjectID, Scope: p.Scope})
	if errors.Is(err, ErrNotFound) || (err == nil && !a.allowed(ctx, "read", proj)) {
		return Pipeline{}, httpapi.NotFound("pipeline %q not found", id)
	}
	if err != nil {
		return Pipeline{}, err
	}
	if action == "write" && !a.allowed(ctx, "write", proj) {
		return Pipeline{}, errForbidden
	}
	return p, nil
}

// withAgents fills in the agent of stages whose task is assigned but has no result yet.
func (a *API) withAgents(ctx context.Context, p Pipeline) Pipeline {
	for i, s := range p.Stages {
		if s.TaskID != nil && s.AgentID == nil {
			if t, err := a.store.Task(ctx, *s.TaskID); err == nil {
				p.Stages[i].AgentID = t.AssignedAgent
			}
		}
	}
	return p
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := a.pipeline(r.Context(), r.PathValue("id"), "read")
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a.markDecidable(r.Context(), a.withAgents(r.Context(), p)))
	return nil
}

// markDecidable sets MayDecide on the stages awaiting approval that Cedar
// lets the caller decide, so a page shows Approve and Reject only to them.
func (a *API) markDecidable(ctx context.Context, p Pipeline) Pipeline {
	if p.Status != PipelineRunning {
		return p
	}
	p.Stages = slices.Clone(p.Stages)
	for i, s := range p.Stages {
		if s.Status == StageAwaitingApproval {
			p.Stages[i].MayDecide = a.allowed(ctx, "approve", stageEntity(p, s))
		}
	}
	return p
}

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("project_id") == "" {
		return httpapi.BadRequest("project_id: required")
	}
	limit, err := intParam(q, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	p, err := a.project(r.Context(), q.Get("project_id"), "read")
	if err != nil {
		return err
	}
	list, err := a.store.Pipelines(r.Context(), p.ID, limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Pipeline{}
	}
	for i := range list {
		list[i] = a.markDecidable(r.Context(), list[i])
	}
	httpapi.WriteJSON(w, http.StatusOK, PipelineList{Pipelines: list})
	return nil
}

func stageEntity(p Pipeline, s Stage) cedar.Entity {
	approvers := ""
	if s.Approval != nil {
		approvers = s.Approval.Approvers
	}
	return authz.Entity(cedar.NewEntityUID("Stage", cedar.String(p.ID+"/"+s.Name)), cedar.RecordMap{
		"scope": cedar.String(p.Scope), "approvers": cedar.String(approvers),
		"requester": cedar.String(p.Requester)})
}

func (a *API) approvePipeline(w http.ResponseWriter, r *http.Request) error {
	var in approveInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Decision != "approve" && in.Decision != "reject" {
		return httpapi.BadRequest("decision %q: want approve or reject", in.Decision)
	}
	if len(in.Comment) > 2000 {
		return httpapi.BadRequest("comment: at most 2000 bytes")
	}
	ctx := r.Context()
	p, err := a.pipeline(ctx, r.PathValue("id"), "read")
	if err != nil {
		return err
	}
	i := p.stageIndex(in.Stage)
	if i < 0 {
		return httpapi.BadRequest("stage %q: no such stage in pipeline %s", in.Stage, p.ID)
	}
	s := p.Stages[i]
	if p.Status != PipelineRunning || s.Status != StageAwaitingApproval {
		return httpapi.Errorf(http.StatusConflict, "conflict", "stage %q is %s, not awaiting approval (pipeline %s)", s.Name, s.Status, p.Status)
	}
	caller := principal.From(ctx)
	if !a.allowed(ctx, "approve", stageEntity(p, s)) {
		if caller.Person == p.Requester {
			return httpapi.Errorf(http.StatusForbidden, "forbidden", "you requested pipeline %s: someone else must decide on stage %q", p.ID, s.Name)
		}
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "deciding on stage %q takes membership of %q", s.Name, s.Approval.Approvers)
	}
	updated, err := a.pipes.Decide(ctx, p.ID, s.Name, in.Decision == "approve", caller.Person, in.Comment)
	if err != nil {
		return pipelineError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, a.withAgents(ctx, updated))
	return nil
}

func (a *API) cancelPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := a.pipeline(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	updated, err := a.pipes.Cancel(r.Context(), p.ID)
	if err != nil {
		return pipelineError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}
