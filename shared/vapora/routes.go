package vapora

import (
	"net/http"
	"time"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// ProjectsSpec is vapora-projects' HTTP surface. It also serves Vapora's
// OpenAPI document.
var ProjectsSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	httpapi.DocumentOp[*API](schemas.OpenAPIDocument("vapora")),
	{Method: "GET", Path: "/projects", Summary: "List the projects the caller may read", Out: ProjectList{},
		Query: []httpapi.Param{{Name: "status", Description: "Active, OnHold or Archived"}}, Handle: (*API).listProjects},
	{Method: "POST", Path: "/projects", Summary: "Create a project", In: projectInput{}, Out: Project{}, Status: http.StatusCreated,
		Handle: (*API).createProject},
	{Method: "GET", Path: "/projects/{id}", Summary: "Read a project", Out: Project{}, Handle: (*API).getProject},
	{Method: "PUT", Path: "/projects/{id}", Summary: "Update a project's name, description, status or approver group (the last: its administrators only)", In: projectInput{}, Out: Project{},
		Handle: (*API).updateProject},
	{Method: "DELETE", Path: "/projects/{id}", Summary: "Archive a project (projects are never destroyed)", Out: Project{},
		Handle: (*API).archiveProject},
	{Method: "GET", Path: "/projects/{id}/tasks", Summary: "A page of the project's board, each column in order", Out: Page{},
		Query: []httpapi.Param{{Name: "status", Description: "one column only"},
			{Name: "limit", Type: "integer", Description: "tasks per column, 1–1000 (default 1000)"},
			{Name: "offset", Type: "integer", Description: "tasks to skip in each column"}},
		Handle: (*API).listTasks},
	{Method: "GET", Path: "/projects/{id}/tasks/{task}/history", Summary: "A page of a card's history, oldest first: status moves, reorders and assignee changes, with who and when",
		Out: History{}, Query: []httpapi.Param{{Name: "limit", Type: "integer", Description: "entries per page, 1–500 (default 100)"},
			{Name: "offset", Type: "integer", Description: "entries to skip"}},
		Handle: (*API).taskHistory},
	{Method: "GET", Path: "/projects/{id}/tasks/{task}/executions", Summary: "A card's latest executions by agents, newest first, with tokens and cost, and the count and cost of all of them",
		Out: TaskExecutions{}, Query: []httpapi.Param{{Name: "limit", Type: "integer", Description: "executions to list, 1–200 (default 20)"}},
		Handle: (*API).taskExecutions},
	{Method: "GET", Path: "/projects/{id}/integrity", Summary: "Check the board's integrity", Out: BoardReport{}, Handle: (*API).checkBoard},
	{Method: "POST", Path: "/projects/{id}/integrity/repair", Summary: "Repair the board, then report what was found and done",
		Out: BoardRepair{}, Handle: (*API).repairBoard},
	{Method: "GET", Path: "/tasks", Summary: "A page of a project's board (as GET /projects/{id}/tasks)", Out: Page{},
		Query: []httpapi.Param{{Name: "project_id", Description: "the project (required)"}, {Name: "status", Description: "one column only"},
			{Name: "limit", Type: "integer", Description: "tasks per column, 1–1000 (default 1000)"},
			{Name: "offset", Type: "integer", Description: "tasks to skip in each column"}},
		Handle: (*API).listTasks},
	{Method: "POST", Path: "/tasks", Summary: "Create a task at the end of its column", In: taskInput{}, Out: Task{},
		Status: http.StatusCreated, Handle: (*API).createTask},
	{Method: "GET", Path: "/tasks/{id}", Summary: "Read a task", Out: Task{}, Handle: (*API).getTask},
	{Method: "PUT", Path: "/tasks/{id}", Summary: "Update a task", In: taskInput{}, Out: Task{}, Handle: (*API).updateTask},
	{Method: "DELETE", Path: "/tasks/{id}", Summary: "Delete a task", Status: http.StatusNoContent, Handle: (*API).deleteTask},
	{Method: "POST", Path: "/tasks/{id}/assign", Summary: "Assign a task to an agent, or to the best Ready agent of a role",
		In: assignInput{}, Out: Assignment{}, Handle: (*API).assignTask},
	{Method: "PUT", Path: "/tasks/{id}/status", Summary: "Move a task to another column (at its end)", In: statusInput{}, Out: Task{},
		Handle: (*API).setStatus},
	{Method: "PUT", Path: "/tasks/{id}/order", Summary: "Move a task within its column", In: orderInput{}, Out: Task{},
		Handle: (*API).setOrder},
}}

// AgentsSpec is vapora-agents' HTTP surface.
var AgentsSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	{Method: "GET", Path: "/agents", Summary: "List the registered agents", Out: AgentList{},
		Query: []httpapi.Param{{Name: "role", Description: "only agents of this role"}}, Handle: (*API).listAgents},
	{Method: "POST", Path: "/agents/register", Summary: "Register an agent", In: registerInput{}, Out: Agent{},
		Status: http.StatusCreated, Handle: (*API).registerAgent},
	{Method: "GET", Path: "/agents/{id}", Summary: "Read an agent", Out: Agent{}, Handle: (*API).getAgent},
	{Method: "DELETE", Path: "/agents/{id}", Summary: "Unregister an agent", Status: http.StatusNoContent, Handle: (*API).unregisterAgent},
	{Method: "GET", Path: "/agents/{id}/health", Summary: "An agent's health from its heartbeats", Out: AgentHealth{},
		Handle: (*API).agentHealth},
	// {id} is the role: API Gateway wants one parameter name per path level.
	{Method: "GET", Path: "/agents/{id}/expertise", Summary: "The expertise of a role's agents, by task type", Out: ExpertiseList{},
		Handle: (*API).expertise},
}}

func authMiddleware(a *API) func(http.Handler) http.Handler { return a.auth.Middleware }

type (
	// ProjectList is GET /projects.
	ProjectList struct {
		Projects []Project `json:"projects"`
	}
	// AgentList is GET /agents.
	AgentList struct {
		Agents []Agent `json:"agents"`
	}
	// ExpertiseList is GET /agents/{role}/expertise.
	ExpertiseList struct {
		Role      string      `json:"role"`
		Expertise []Expertise `json:"expertise"`
	}
	// AgentHealth is GET /agents/{id}/health.
	AgentHealth struct {
		AgentID               string    `json:"agent_id"`
		Status                string    `json:"status"`
		Healthy               bool      `json:"healthy"`
		LastHeartbeat         time.Time `json:"last_heartbeat"`
		SecondsSinceHeartbeat float64   `json:"seconds_since_heartbeat"`
		CurrentLoad           float64   `json:"current_load"`
	}
	statusInput struct {
		Status *string `json:"status"`
	}
	orderInput struct {
		Order *int `json:"order"`
	}
	assignInput struct {
		AgentID  string `json:"agent_id,omitempty"`
		Role     string `json:"role,omitempty"`
		TaskType string `json:"task_type,omitempty"`
	}
	registerInput struct {
		AgentID      string   `json:"agent_id,omitempty"`
		Role         string   `json:"role"`
		Provider     string   `json:"provider,omitempty"`
		Capabilities []string `json:"capabilities,omitempty"`
		Runner       string   `json:"runner,omitempty"`
	}
)
