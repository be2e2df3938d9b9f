package vapora

import (
	"context"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// changed publishes vapora.tasks.changed after a task write. The write has
// happened: a failure to publish is logged, not returned, and the pages
// watching the board read it again when their socket comes back.
func (a *API) changed(ctx context.Context, projectID, scope, taskID, change, status string) {
	if a.bus == nil {
		return
	}
	ev := events.TasksChanged{ID: newID("chg"), ProjectID: projectID, Scope: scope, TaskID: taskID, Change: change,
		Status: status, At: time.Now().UTC()}
	if p := principal.From(ctx); p != nil {
		ev.By = p.Person
	}
	if _, err := a.bus.Publish(ctx, events.SubjectTasksChanged, ev.ID, ev, nil); err != nil {
		obs.Log(ctx).Warn("announce a board change", "task_id", taskID, "change", change, "err", err)
	}
}

// agentChanged publishes vapora.agents.changed after an agent's status
// changed. As for changed, a failure to publish is logged, not returned.
func (a *Agents) agentChanged(ctx context.Context, agentID, change, status string, load float64) {
	if a.bus == nil {
		return
	}
	ev := events.AgentsChanged{ID: newID("agc"), AgentID: agentID, Change: change, Status: status, Load: load, At: time.Now().UTC()}
	if _, err := a.bus.Publish(ctx, events.SubjectAgentsChanged, ev.ID, ev, nil); err != nil {
		obs.Log(ctx).Warn("announce an agent change", "agent_id", agentID, "change", change, "err", err)
	}
}
