// Package execution is kogral-on-execution: Vapora's finished executions
// copied into Kogral's graphs.
package execution

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// ExecutionGraph is the graph a Vapora project's executions go to: one of
// the execution's scope, "<scope>.<project>", so that only that scope reads
// it. An execution without a scope fit for a graph name has none ("").
func ExecutionGraph(scope, project string) string {
	graph := scope + "." + strings.Trim(kogral.Slug(project), "-")
	if len(graph) > 64 {
		graph = strings.TrimRight(graph[:64], "-.")
	}
	if scope == "" || strings.Contains(scope, ".") || !kogral.ValidGraph(graph) {
		return ""
	}
	return graph
}

// ProjectNodeID is the id of the node for a Vapora project, in its scope
// (node ids lie in their graph's scope: kogral.CheckIDInGraph).
func ProjectNodeID(scope, project string) string { return scopedID(scope, "project-", project) }

// ExecutionNodeID is the id of the node for the execution event eventID, in
// its scope.
func ExecutionNodeID(scope, eventID string) string { return scopedID(scope, "exec-", eventID) }

// scopedID is "<scope>.<kind><slug of name>", at most 128 characters.
func scopedID(scope, kind, name string) string {
	room := 128 - utf8.RuneCountInString(scope) - 1 - len(kind)
	return scope + "." + kind + strings.Trim(kogral.SlugN(name, room), "-")
}

// OnExecution records a finished Vapora execution as an Execution node in
// its scope's graph of the project (ExecutionGraph), linked to a node for
// the project. An execution without a usable scope is not copied: no graph
// would keep it from other tenants. Redeliveries change nothing: the node's
// id is the event's.
func OnExecution(b kogral.Backend) bus.Handler {
	return bus.Typed(func(ctx context.Context, d bus.Delivery, e events.ExecutionRecorded) error {
		if e.Source != "vapora" {
			return nil
		}
		graph := ExecutionGraph(e.Scope, e.Project)
		if graph == "" {
			obs.Log(ctx).Warn("execution not copied: its scope cannot name a graph", "event_id", e.ID, "scope", e.Scope)
			return nil
		}
		projectID := ProjectNodeID(e.Scope, e.Project)
		_, err := b.CreateNode(ctx, kogral.NodeInput{ID: projectID, NodeType: "Note", Title: "Project " + e.Project,
			Content: "Executions recorded for Vapora project " + e.Project + ".", GraphID: graph, Metadata: map[string]any{"vapora_project": e.Project}})
		if err != nil && !errors.As(err, new(*kogral.ConflictError)) {
			return err
		}
		agent := ""
		if e.AgentID != nil {
			agent = *e.AgentID
		}
		execID := ExecutionNodeID(e.Scope, e.ID)
		body := fmt.Sprintf("Task type %s by %s: %s in %d ms.", e.TaskType, agent, e.Status, e.DurationMs)
		_, err = b.CreateNode(ctx, kogral.NodeInput{ID: execID, NodeType: "Execution", Title: fmt.Sprintf("%s %s (%s)", e.TaskType, e.Status, agent),
			Content: body, GraphID: graph, Tags: []string{e.TaskType, e.Status},
			Metadata: map[string]any{"event_id": e.ID, "agent_id": agent, "status": e.Status, "duration_ms": e.DurationMs,
				"task_type": e.TaskType, "occurred_at": e.OccurredAt, "details": e.Metadata}})
		if err != nil && !errors.As(err, new(*kogral.ConflictError)) {
			return err
		}
		_, err = b.Link(ctx, kogral.Edge{Source: execID, Target: projectID, Relation: "RelatesTo", Weight: 1})
		return err
	})
}

// Functions is kogral-on-execution.
func Functions() function.Set { return function.Set{"kogral-on-execution": Function} }

// Function is kogral-on-execution.
func Function() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		s, err := kogral.StoreFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return OnExecution(s), nil
	})
}
