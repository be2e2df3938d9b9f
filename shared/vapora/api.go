package vapora

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// API serves vapora-projects, vapora-agents, vapora-swarm and vapora-pipelines.
type API struct {
	store    *Store
	agents   *Agents
	pipes    *Pipelines
	kogral   *KogralClient
	authz    *authz.Engine
	auth     *principal.Authenticator
	bus      *bus.Bus
	o        httpapi.Options
	refs     sync.Map // task id → taskRef, project id → projectRef
	refCount atomic.Int64
}

// NewAPI builds the API; auth authenticates callers, engine decides with
// schemas/cedar/vapora.
func NewAPI(store *Store, b *bus.Bus, engine *authz.Engine, auth *principal.Authenticator) *API {
	agents := NewAgents(store, b)
	return &API{store: store, agents: agents, pipes: NewPipelines(store, agents, b), authz: engine, auth: auth, bus: b}
}

// ---- authorization ------------------------------------------------------------

// allowed asks Cedar whether the caller may do action on a resource.
func (a *API) allowed(ctx context.Context, action string, resource cedar.Entity) bool {
	return a.authz.Allows(ctx, action, resource)
}

func projectEntity(p Project) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Project", cedar.String(p.ID)), cedar.RecordMap{"scope": cedar.String(p.Scope)})
}

func taskEntity(t Task) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Task", cedar.String(t.ID)),
		cedar.RecordMap{"scope": cedar.String(t.Scope), "project": cedar.String(t.ProjectID)})
}

var agentsEntity = authz.Entity(cedar.NewEntityUID("Agent", "pool"), cedar.RecordMap{})

var errForbidden = httpapi.Errorf(http.StatusForbidden, "forbidden", "not allowed")

// project reads a project the caller may act on; another scope's project
// is a 404, exactly as a missing one.
func (a *API) project(ctx context.Context, id, action string) (Project, error) {
	if !idPattern.MatchString(id) {
		return Project{}, httpapi.BadRequest("project id %q is malformed", id)
	}
	p, err := a.store.Project(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.allowed(ctx, "read", projectEntity(p))) {
		return Project{}, httpapi.NotFound("project %q not found", id)
	}
	if err != nil {
		return Project{}, err
	}
	if action == "write" && !a.allowed(ctx, "write", projectEntity(p)) {
		return Project{}, errForbidden
	}
	return p, nil
}

func (a *API) task(ctx context.Context, id, action string) (Task, error) {
	if !idPattern.MatchString(id) {
		return Task{}, httpapi.BadRequest("task id %q is malformed", id)
	}
	t, err := a.store.Task(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.allowed(ctx, "read", taskEntity(t))) {
		return Task{}, httpapi.NotFound("task %q not found", id)
	}
	if err != nil {
		return Task{}, err
	}
	if action == "write" && !a.allowed(ctx, "write", taskEntity(t)) {
		return Task{}, errForbidden
	}
	return t, nil
}

// taskRef is what authorizing a task needs: its project and scope, which
// never change, so they are kept once read.
type taskRef struct{ ID, ProjectID, Scope string }

// taskRef authorizes action on a task, looking its project and scope up
// only the first time (Store.TaskRef: the board index, else one read of two
// fields).
func (a *API) taskRef(ctx context.Context, id, action string) (taskRef, error) {
	if !idPattern.MatchString(id) {
		return taskRef{}, httpapi.BadRequest("task id %q is malformed", id)
	}
	ref, cached := taskRef{}, false
	if v, ok := a.refs.Load(id); ok {
		ref, cached = v.(taskRef), true
	} else {
		project, scope, err := a.store.TaskRef(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return taskRef{}, httpapi.NotFound("task %q not found", id)
		}
		if err != nil {
			return taskRef{}, err
		}
		ref = taskRef{ID: id, ProjectID: project, Scope: scope}
	}
	t := Task{ID: ref.ID, ProjectID: ref.ProjectID, Scope: ref.Scope}
	if !a.allowed(ctx, "read", taskEntity(t)) {
		return taskRef{}, httpapi.NotFound("task %q not found", id)
	}
	if action == "write" && !a.allowed(ctx, "write", taskEntity(t)) {
		return taskRef{}, errForbidden
	}
	if !cached {
		a.keepRef(id, ref)
	}
	return ref, nil
}

// projectRef is what authorizing a read of a project needs: its id and
// scope, which never change (projects are archived, never destroyed).
type projectRef struct{ ID, Scope string }

// projectRef authorizes reading a project, reading it only the first time.
func (a *API) projectRef(ctx context.Context, id string) (projectRef, error) {
	if v, ok := a.refs.Load("project/" + id); ok {
		ref := v.(projectRef)
		if !a.allowed(ctx, "read", projectEntity(Project{ID: ref.ID, Scope: ref.Scope})) {
			return projectRef{}, httpapi.NotFound("project %q not found", id)
		}
		return ref, nil
	}
	p, err := a.project(ctx, id, "read")
	if err != nil {
		return projectRef{}, err
	}
	ref := projectRef{ID: p.ID, Scope: p.Scope}
	a.keepRef("project/"+id, ref)
	return ref, nil
}

// keepRef keeps a task's or a project's reference, at most maxRefs of them.
func (a *API) keepRef(key string, ref any) {
	if a.refCount.Add(1) > maxRefs {
		a.refs.Clear() // bounded memory: start again
		a.refCount.Store(0)
	}
	a.refs.Store(key, ref)
}

// maxRefs bounds the task references an instance keeps.
const maxRefs = 100_000

// storeError maps the store's errors to answers.
func storeError(err error) error {
	var rng *OrderRangeError
	var asg *AssignError
	var mv *MoveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rng):
		return httpapi.BadRequest("%s", rng.Error())
	case errors.As(err, &asg):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", asg.Msg)
	case errors.As(err, &mv):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", mv.Error())
	case errors.Is(err, errStale):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", err.Error())
	case errors.Is(err, bus.ErrLockTimeout):
		return httpapi.Errorf(http.StatusServiceUnavailable, "busy", "the board is busy; retry")
	}
	return err
}

// ---- projects -------------------------------------------------------------------

type projectInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Scope       *string `json:"scope"`
	Status      *string `json:"status"`
	// Approvers sets the approver group of the project's pipeline gates
	// (the project's administrators only; "" clears it).
	Approvers *string `json:"approvers"`
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	status := r.URL.Query().Get("status")
	if status != "" {
		if err := oneOf("status", status, ProjectStatuses); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	p := principal.From(r.Context())
	list, err := a.store.Projects(r.Context(), p.Scopes, status)
	if err != nil {
		return err
	}
	visible := []Project{}
	for _, pr := range list {
		if a.allowed(r.Context(), "read", projectEntity(pr)) {
			visible = append(visible, pr)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, ProjectList{Projects: visible})
	return nil
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) error {
	var in projectInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 200 {
		return httpapi.BadRequest("name: required, at most 200 bytes")
	}
	if err := checkDescription("description", in.Description); err != nil {
		return err
	}
	caller := principal.From(r.Context())
	p := Project{Name: strings.TrimSpace(*in.Name), Description: in.Description, Status: "Active"}
	switch {
	case in.Scope != nil && *in.Scope != "":
		p.Scope = *in.Scope
	case len(caller.Scopes) == 1:
		p.Scope = caller.Scopes[0]
	default:
		return httpapi.BadRequest("scope: required (you hold %d scopes)", len(caller.Scopes))
	}
	if in.Status != nil {
		if err := oneOf("status", *in.Status, ProjectStatuses); err != nil {
			return httpapi.BadRequest("%v", err)
		}
		p.Status = *in.Status
	}
	if !a.allowed(r.Context(), "write", projectEntity(p)) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "you cannot create projects in scope %q", p.Scope)
	}
	if err := a.setApprovers(r.Context(), &p, in.Approvers); err != nil {
		return err
	}
	created, err := a.store.CreateProject(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/projects/"+created.ID)
	httpapi.WriteJSON(w, http.StatusCreated, created)
	return nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r.Context(), r.PathValue("id"), "read")
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	var in projectInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Scope != nil && *in.Scope != p.Scope {
		return httpapi.BadRequest("scope: a project cannot move to another scope")
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" || len(*in.Name) > 200 {
			return httpapi.BadRequest("name: required, at most 200 bytes")
		}
		p.Name = strings.TrimSpace(*in.Name)
	}
	if err := checkDescription("description", in.Description); err != nil {
		return err
	}
	if in.Description != nil {
		p.Description = in.Description
	}
	if in.Status != nil {
		if err := oneOf("status", *in.Status, ProjectStatuses); err != nil {
			return httpapi.BadRequest("%v", err)
		}
		p.Status = *in.Status
	}
	if err := a.setApprovers(r.Context(), &p, in.Approvers); err != nil {
		return err
	}
	updated, err := a.store.UpdateProject(r.Context(), p)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}

// setApprovers sets a project's approver group, which only its
// administrators may (Cedar "administer"); nil leaves it, "" clears it.
func (a *API) setApprovers(ctx context.Context, p *Project, group *string) error {
	if group == nil || (p.Approvers != nil && *p.Approvers == *group) {
		return nil
	}
	if *group != "" {
		if err := principal.ValidScope(*group); err != nil {
			return httpapi.BadRequest("approvers: %v", err)
		}
	}
	if !a.allowed(ctx, "administer", projectEntity(*p)) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden",
			"approvers: only the project's administrators (scope %q with vapora-admin) set its approver group", p.Scope)
	}
	p.Approvers = nonEmpty(*group)
	return nil
}

// archiveProject is DELETE: projects are archived, never destroyed.
func (a *API) archiveProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	p.Status = "Archived"
	updated, err := a.store.UpdateProject(r.Context(), p)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}

// ---- tasks ----------------------------------------------------------------------

type taskInput struct {
	ProjectID   *string   `json:"project_id"`
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Status      *string   `json:"status"`
	Priority    *string   `json:"priority"`
	Tags        *[]string `json:"tags"`
}

// A task's title and description are bounded so that its answers (a board
// page above all) stay far below Lambda's 6 MB response limit: a description
// holds at most as many characters as a GitHub issue's body.
const (
	maxTitle       = 500
	maxDescription = 65536
)

// checkTaskText checks the title and description a request sets.
func checkTaskText(in taskInput) error {
	if in.Title != nil && (strings.TrimSpace(*in.Title) == "" || len(*in.Title) > maxTitle) {
		return httpapi.BadRequest("title: required, at most %d bytes (got %d)", maxTitle, len(*in.Title))
	}
	return checkDescription("description", in.Description)
}

// checkDescription bounds a task's or a project's description, named field.
func checkDescription(field string, d *string) error {
	if d != nil {
		if n := utf8.RuneCountInString(*d); n > maxDescription {
			return httpapi.BadRequest("%s: at most %d characters (got %d)", field, maxDescription, n)
		}
	}
	return nil
}

func checkTags(tags []string) error {
	if len(tags) > 32 {
		return httpapi.BadRequest("tags: at most 32")
	}
	for _, t := range tags {
		if strings.TrimSpace(t) == "" || len(t) > 64 {
			return httpapi.BadRequest("tags: each 1–64 bytes")
		}
	}
	return nil
}

// A page of a board holds at most maxPage tasks of each column.
const maxPage = 1000

// listTasks serves GET /projects/{id}/tasks and its alias GET
// /tasks?project_id=<id>.
func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	id := r.PathValue("id")
	if id == "" {
		if id = q.Get("project_id"); id == "" {
			return httpapi.BadRequest("project_id is required: GET /tasks?project_id=<id> or GET /projects/<id>/tasks lists a project's board")
		}
	}
	// No Arrive: the page's own round trip reads the feed (Store.Tasks).
	ctx := r.Context()
	p, err := a.projectRef(ctx, id)
	if err != nil {
		return err
	}
	status := q.Get("status")
	if status != "" {
		if err := oneOf("status", status, TaskStatuses); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	limit, err := intParam(q, "limit", maxPage, 1, maxPage)
	if err != nil {
		return err
	}
	offset, err := intParam(q, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	page, err := a.store.Tasks(ctx, p.ID, status, offset, limit)
	if err != nil {
		return storeError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, boundPage(page))
	return nil
}

// intParam reads an integer query parameter within [lo, hi], def when absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, httpapi.BadRequest("%s: want an integer from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}

func (a *API) createTask(w http.ResponseWriter, r *http.Request) error {
	var in taskInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.ProjectID == nil || *in.ProjectID == "" {
		return httpapi.BadRequest("project_id: required")
	}
	if in.Title == nil {
		return httpapi.BadRequest("title: required, at most %d bytes", maxTitle)
	}
	if err := checkTaskText(in); err != nil {
		return err
	}
	t := Task{ProjectID: *in.ProjectID, Title: strings.TrimSpace(*in.Title), Description: in.Description,
		Status: "Todo", Priority: "Medium", Tags: []string{}}
	if in.Status != nil {
		if err := oneOf("status", *in.Status, TaskStatuses); err != nil {
			return httpapi.BadRequest("%v", err)
		}
		t.Status = *in.Status
	}
	if in.Priority != nil {
		if err := oneOf("priority", *in.Priority, TaskPriorities); err != nil {
			return httpapi.BadRequest("%v", err)
		}
		t.Priority = *in.Priority
	}
	if in.Tags != nil {
		if err := checkTags(*in.Tags); err != nil {
			return err
		}
		t.Tags = *in.Tags
	}
	p, err := a.project(r.Context(), t.ProjectID, "write")
	if err != nil {
		return err
	}
	if p.Status == "Archived" {
		return httpapi.Errorf(http.StatusConflict, "conflict", "project %s is archived", p.ID)
	}
	t.Scope = p.Scope
	created, err := a.store.CreateTask(r.Context(), t)
	if err != nil {
		return storeError(err)
	}
	a.changed(r.Context(), created.ProjectID, t.Scope, created.ID, "created", created.Status)
	w.Header().Set("Location", "/tasks/"+created.ID)
	httpapi.WriteJSON(w, http.StatusCreated, created)
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	// No Arrive: the record's round trip reads the feed too (Store.Task).
	t, err := a.task(r.Context(), r.PathValue("id"), "read")
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) updateTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.task(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	var in taskInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	switch {
	case in.Status != nil:
		return httpapi.BadRequest("status: change it with PUT /tasks/%s/status", t.ID)
	case in.ProjectID != nil && *in.ProjectID != t.ProjectID:
		return httpapi.BadRequest("project_id: a task cannot move to another project")
	}
	if err := checkTaskText(in); err != nil {
		return err
	}
	if in.Title != nil {
		t.Title = strings.TrimSpace(*in.Title)
	}
	if in.Description != nil {
		t.Description = in.Description
	}
	if in.Priority != nil {
		if err := oneOf("priority", *in.Priority, TaskPriorities); err != nil {
			return httpapi.BadRequest("%v", err)
		}
		t.Priority = *in.Priority
	}
	if in.Tags != nil {
		if err := checkTags(*in.Tags); err != nil {
			return err
		}
		t.Tags = *in.Tags
	}
	updated, err := a.store.UpdateTask(r.Context(), t)
	if err != nil {
		return storeError(err)
	}
	a.changed(r.Context(), t.ProjectID, t.Scope, t.ID, "updated", updated.Status)
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}

func (a *API) deleteTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.task(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	if err := a.store.DeleteTask(r.Context(), t); err != nil {
		return storeError(err)
	}
	a.refs.Delete(t.ID)
	a.changed(r.Context(), t.ProjectID, t.Scope, t.ID, "deleted", "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request) error {
	var in statusInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Status == nil {
		return httpapi.BadRequest("status: required")
	}
	if err := oneOf("status", *in.Status, TaskStatuses); err != nil {
		return httpapi.BadRequest("%v", err)
	}
	ref, err := a.taskRef(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	updated, err := a.store.SetStatus(r.Context(), ref.ID, *in.Status)
	if errors.Is(err, ErrNotFound) {
		return httpapi.NotFound("task %q not found", ref.ID)
	}
	if err != nil {
		return storeError(err)
	}
	a.changed(r.Context(), ref.ProjectID, ref.Scope, ref.ID, "status", updated.Status)
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}

func (a *API) setOrder(w http.ResponseWriter, r *http.Request) error {
	ctx, wait := a.store.Arrive(r.Context()) // the board catches up while the task is authorized
	defer wait()
	t, err := a.taskRef(ctx, r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	var in orderInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Order == nil {
		return httpapi.BadRequest("order: required")
	}
	updated, err := a.store.Reorder(ctx, Task{ID: t.ID, ProjectID: t.ProjectID}, *in.Order)
	if errors.Is(err, ErrNotFound) {
		return httpapi.NotFound("task %q not found", t.ID)
	}
	if err != nil {
		return storeError(err)
	}
	a.changed(r.Context(), t.ProjectID, t.Scope, t.ID, "order", updated.Status)
	httpapi.WriteJSON(w, http.StatusOK, updated)
	return nil
}

func (a *API) assignTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.task(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	var in assignInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Role != "" {
		if err := oneOf("role", in.Role, events.AgentRoles); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	if in.AgentID == "" && in.Role == "" {
		return httpapi.BadRequest("give agent_id, or role to pick the best Ready agent of that role")
	}
	if in.AgentID != "" && !idPattern.MatchString(in.AgentID) {
		return httpapi.BadRequest("agent_id %q is malformed", in.AgentID)
	}
	if len(in.TaskType) > 128 {
		return httpapi.BadRequest("task_type: at most 128 bytes")
	}
	res, err := a.agents.Assign(r.Context(), t, in.AgentID, in.Role, in.TaskType)
	if errors.Is(err, ErrNotFound) {
		return httpapi.NotFound("agent %q not found", in.AgentID)
	}
	if err != nil {
		return storeError(err)
	}
	a.changed(r.Context(), t.ProjectID, t.Scope, t.ID, "assigned", res.Task.Status)
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// ---- agents -----------------------------------------------------------------------

func (a *API) listAgents(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "read_agents", agentsEntity) {
		return errForbidden
	}
	role := r.URL.Query().Get("role")
	if role != "" {
		if err := oneOf("role", role, events.AgentRoles); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	list, err := a.store.Agents(r.Context(), role)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Agent{}
	}
	httpapi.WriteJSON(w, http.StatusOK, AgentList{Agents: list})
	return nil
}

// WithKogral gives the API Kogral's client, for the knowledge routes.
func (a *API) WithKogral(k *KogralClient) *API { a.kogral = k; return a }

func (a *API) agent(r *http.Request) (Agent, error) { return a.agentByID(r, r.PathValue("id")) }

func (a *API) agentByID(r *http.Request, id string) (Agent, error) {
	if !a.allowed(r.Context(), "read_agents", agentsEntity) {
		return Agent{}, errForbidden
	}
	if !idPattern.MatchString(id) {
		return Agent{}, httpapi.BadRequest("agent id %q is malformed", id)
	}
	ag, err := a.store.Agent(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		return Agent{}, httpapi.NotFound("agent %q not found", id)
	}
	return ag, err
}

func (a *API) getAgent(w http.ResponseWriter, r *http.Request) error {
	ag, err := a.agent(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ag)
	return nil
}

func (a *API) agentHealth(w http.ResponseWriter, r *http.Request) error {
	ag, err := a.agent(r)
	if err != nil {
		return err
	}
	since := a.store.now().Sub(ag.LastHeartbeat).Seconds()
	httpapi.WriteJSON(w, http.StatusOK, AgentHealth{AgentID: ag.ID, Status: ag.Status,
		Healthy: ag.Status == "Ready" || ag.Status == "Busy", LastHeartbeat: ag.LastHeartbeat,
		SecondsSinceHeartbeat: since, CurrentLoad: ag.CurrentLoad})
	return nil
}

func (a *API) expertise(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "read_agents", agentsEntity) {
		return errForbidden
	}
	role := r.PathValue("id")
	if err := oneOf("role", role, events.AgentRoles); err != nil {
		return httpapi.BadRequest("%v", err)
	}
	list, err := a.store.Expertise(r.Context(), role)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Expertise{}
	}
	httpapi.WriteJSON(w, http.StatusOK, ExpertiseList{Role: role, Expertise: list})
	return nil
}

func (a *API) registerAgent(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "manage_agents", agentsEntity) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "registering agents takes the \"agents\" scope")
	}
	var in registerInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Runner != "" && in.Runner != RunnerBuiltin {
		return httpapi.BadRequest("runner %q: want %q (Vapora runs the agent) or absent (an outside worker does)", in.Runner, RunnerBuiltin)
	}
	if in.AgentID == "" {
		in.AgentID = newID("agent")
	}
	reg := events.AgentRegistration{ID: "api-" + in.AgentID, AgentID: in.AgentID, Role: in.Role, Provider: in.Provider, Capabilities: in.Capabilities}
	if err := reg.Validate(); err != nil {
		return httpapi.BadRequest("%v", err)
	}
	if reg.Provider == "" {
		reg.Provider = "Claude"
	}
	ag, err := a.store.Register(r.Context(), Agent{ID: reg.AgentID, Role: reg.Role, Provider: reg.Provider, Capabilities: reg.Capabilities})
	if err != nil {
		return storeError(err)
	}
	if in.Runner != "" || ag.Runner != nil {
		if err := a.store.SetRunner(r.Context(), ag.ID, nonEmpty(in.Runner)); err != nil {
			return err
		}
		ag.Runner = nonEmpty(in.Runner)
	}
	a.agents.agentChanged(r.Context(), ag.ID, "registered", ag.Status, ag.CurrentLoad)
	if err := a.pipes.Offer(r.Context(), ag.ID); err != nil { // it takes a stage waiting for its role
		obs.Log(r.Context()).Warn("offer a registered agent to waiting stages", "agent_id", ag.ID, "err", err)
	}
	w.Header().Set("Location", "/agents/"+ag.ID)
	httpapi.WriteJSON(w, http.StatusCreated, ag)
	return nil
}

func (a *API) unregisterAgent(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "manage_agents", agentsEntity) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "unregistering agents takes the \"agents\" scope")
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return httpapi.BadRequest("agent id %q is malformed", id)
	}
	err := a.agents.Unregister(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		return httpapi.NotFound("agent %q not found", id)
	}
	if err != nil {
		return storeError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
