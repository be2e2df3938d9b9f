package vapora

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// SwarmSpec is vapora-swarm's HTTP surface.
var SwarmSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	{Method: "POST", Path: "/swarm/assign", Summary: "Assign tasks (existing or new) to the best Ready agents of their roles, none over load 1.0",
		In: swarmAssignInput{}, Out: SwarmAssignment{}, Handle: (*API).swarmAssign},
	{Method: "GET", Path: "/swarm/status", Summary: "Agents, load, queued and running tasks, and the last hour's outcomes, per role",
		Out: SwarmStatus{}, Handle: (*API).swarmStatus},
	{Method: "GET", Path: "/swarm/agents", Summary: "Agents with their load, open tasks and best task types", Out: SwarmAgentList{},
		Handle: (*API).swarmAgents},
	{Method: "POST", Path: "/swarm/balance", Summary: "Move queued tasks off agents above a load threshold to agents under it",
		Query: []httpapi.Param{{Name: "dry_run", Type: "boolean", Description: "report the moves without making them"}},
		In:    balanceInput{}, Out: BalanceReport{}, Handle: (*API).swarmBalance},
}}

type (
	swarmNewTask struct {
		Title       string  `json:"title"`
		Description *string `json:"description,omitempty"`
		Priority    string  `json:"priority,omitempty"`
		Role        string  `json:"role,omitempty"`
		TaskType    string  `json:"task_type,omitempty"`
	}
	swarmAssignInput struct {
		ProjectID string         `json:"project_id"`
		Role      string         `json:"role,omitempty"`
		TaskType  string         `json:"task_type,omitempty"`
		TaskIDs   []string       `json:"task_ids,omitempty"`
		Tasks     []swarmNewTask `json:"tasks,omitempty"`
	}
	// Unplaced is a task the swarm could not assign, and why.
	Unplaced struct {
		TaskID string `json:"task_id"`
		Title  string `json:"title"`
		Reason string `json:"reason"`
	}
	// SwarmAssignment is POST /swarm/assign.
	SwarmAssignment struct {
		Assigned []Assignment `json:"assigned"`
		Unplaced []Unplaced   `json:"unplaced"`
	}
	// SwarmAgentList is GET /swarm/agents.
	SwarmAgentList struct {
		Agents []SwarmAgent `json:"agents"`
	}
	balanceInput struct {
		Threshold *float64 `json:"threshold"`
	}
	// Move is one task the balance moved (or would move).
	Move struct {
		TaskID string  `json:"task_id"`
		From   string  `json:"from"`
		To     string  `json:"to"`
		Score  float64 `json:"score"`
		Done   bool    `json:"done"`
		Note   string  `json:"note,omitempty"`
	}
	// BalanceReport is POST /swarm/balance.
	BalanceReport struct {
		Threshold float64 `json:"threshold"`
		DryRun    bool    `json:"dry_run"`
		Moves     []Move  `json:"moves"`
	}
)

// maxSwarmTasks bounds one assign request.
const maxSwarmTasks = 100

// swarmTasks are the tasks an assign request names, read or created.
func (a *API) swarmTasks(ctx context.Context, p Project, in swarmAssignInput) ([]Task, []string, error) {
	var tasks []Task
	var roles []string
	for _, id := range in.TaskIDs {
		t, err := a.task(ctx, id, "write")
		if err != nil {
			return nil, nil, err
		}
		if t.ProjectID != p.ID {
			return nil, nil, httpapi.BadRequest("task %s is not in project %s", id, p.ID)
		}
		tasks, roles = append(tasks, t), append(roles, in.Role)
	}
	for i, nt := range in.Tasks { // before any is created
		if err := checkDescription(fmt.Sprintf("tasks[%d].description", i), nt.Description); err != nil {
			return nil, nil, err
		}
	}
	for i, nt := range in.Tasks {
		if strings.TrimSpace(nt.Title) == "" || len(nt.Title) > 500 {
			return nil, nil, httpapi.BadRequest("tasks[%d].title: required, at most 500 bytes", i)
		}
		prio := nt.Priority
		if prio == "" {
			prio = "Medium"
		}
		if err := oneOf("priority", prio, TaskPriorities); err != nil {
			return nil, nil, httpapi.BadRequest("tasks[%d]: %v", i, err)
		}
		tags := []string{}
		if nt.TaskType != "" {
			tags = append(tags, nt.TaskType)
		}
		t, err := a.store.CreateTask(ctx, Task{ProjectID: p.ID, Scope: p.Scope, Title: strings.TrimSpace(nt.Title),
			Description: nt.Description, Status: "Todo", Priority: prio, Tags: tags})
		if err != nil {
			return nil, nil, storeError(err)
		}
		role := nt.Role
		if role == "" {
			role = in.Role
		}
		tasks, roles = append(tasks, t), append(roles, role)
	}
	return tasks, roles, nil
}

func (a *API) checkSwarmInput(in swarmAssignInput) error {
	switch {
	case in.ProjectID == "":
		return httpapi.BadRequest("project_id: required")
	case (len(in.TaskIDs) == 0) == (len(in.Tasks) == 0):
		return httpapi.BadRequest("give task_ids (existing tasks) or tasks (new ones), not both")
	case len(in.TaskIDs)+len(in.Tasks) > maxSwarmTasks:
		return httpapi.BadRequest("at most %d tasks per request", maxSwarmTasks)
	case len(in.TaskType) > 128:
		return httpapi.BadRequest("task_type: at most 128 bytes")
	}
	for i, nt := range in.Tasks {
		if nt.Role == "" && in.Role == "" {
			return httpapi.BadRequest("tasks[%d].role: required (or a role for every task)", i)
		}
		if nt.Role != "" {
			if err := oneOf("role", nt.Role, events.AgentRoles); err != nil {
				return httpapi.BadRequest("tasks[%d]: %v", i, err)
			}
		}
	}
	if len(in.TaskIDs) > 0 && in.Role == "" {
		return httpapi.BadRequest("role: required with task_ids")
	}
	if in.Role != "" {
		if err := oneOf("role", in.Role, events.AgentRoles); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	return nil
}

func (a *API) swarmAssign(w http.ResponseWriter, r *http.Request) error {
	var in swarmAssignInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := a.checkSwarmInput(in); err != nil {
		return err
	}
	ctx := r.Context()
	p, err := a.project(ctx, in.ProjectID, "write")
	if err != nil {
		return err
	}
	tasks, roles, err := a.swarmTasks(ctx, p, in)
	if err != nil {
		return err
	}
	out, err := a.agents.AssignAll(ctx, tasks, roles, in.TaskType)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) swarmStatus(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "read_agents", agentsEntity) {
		return errForbidden
	}
	st, err := a.store.SwarmStatus(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *API) swarmAgents(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "read_agents", agentsEntity) {
		return errForbidden
	}
	// agents are shared; the tasks they hold are shown from the caller's scopes only
	list, err := a.store.SwarmAgents(r.Context(), principal.From(r.Context()).Scopes)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, SwarmAgentList{Agents: list})
	return nil
}

func (a *API) swarmBalance(w http.ResponseWriter, r *http.Request) error {
	if !a.allowed(r.Context(), "manage_agents", agentsEntity) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "balancing the swarm takes the \"agents\" scope")
	}
	dry := false
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "false":
	case "true":
		dry = true
	default:
		return httpapi.BadRequest("dry_run %q: want true or false", v)
	}
	var in balanceInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Threshold == nil || !(*in.Threshold > 0 && *in.Threshold <= 1) {
		return httpapi.BadRequest("threshold: required, a load in (0, 1]")
	}
	rep, err := a.agents.Balance(r.Context(), *in.Threshold, dry)
	if err != nil {
		return storeError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}
