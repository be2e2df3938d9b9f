// Package runner is vapora-agent-runner: it does the tasks assigned to
// built-in LLM agents through the router. It is a package of its own so
// that vapora-llm does not link Vapora's task store.
package runner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/vapora"
	"github.com/stratumiops/stratumiops/shared/vapora/llm"
)

// Runner does the tasks assigned to built-in LLM agents: it consumes
// vapora.tasks.assign next to vapora-on-task-assign (which moves the task
// to Doing), routes a prompt built from the task, and publishes
// vapora.tasks.results with the output, tokens and cost.
type Runner struct {
	router    *llm.Router
	tasks     *vapora.Store
	kogral    *vapora.KogralClient // nil: prompts without Kogral's knowledge
	store     *llm.Store
	bus       *bus.Bus
	maxTokens int64
	// applyWait bounds the wait for vapora-on-task-assign to move the task
	// to Doing; past it the delivery is retried.
	applyWait time.Duration
}

// NewRunner returns the runner; kogral (nil for none) adds what Kogral
// knows about a task's type to its prompt.
func NewRunner(router *llm.Router, tasks *vapora.Store, kogral *vapora.KogralClient, b *bus.Bus, maxTokens int64) *Runner {
	return &Runner{router: router, tasks: tasks, kogral: kogral, store: router.Store(), bus: b, maxTokens: maxTokens,
		applyWait: 8 * time.Second}
}

// OnAssign runs one assignment, once: a redelivered assignment republishes
// the result it produced instead of paying for the call again.
func (r *Runner) OnAssign(ctx context.Context, d bus.Delivery, e events.TaskAssignment) error {
	ag, err := r.tasks.Agent(ctx, e.AgentID)
	if errors.Is(err, vapora.ErrNotFound) {
		return nil // vapora-on-task-assign dead-letters it
	}
	if err != nil {
		return err
	}
	if ag.Runner == nil || *ag.Runner != vapora.RunnerBuiltin {
		return nil // an outside worker runs this agent
	}
	if prev, err := r.store.Run(ctx, e.ID); err != nil || prev != nil {
		if err != nil {
			return err
		}
		return r.publish(ctx, *prev)
	}
	t, err := r.waitApplied(ctx, e)
	if err != nil {
		return err
	}
	res, err := r.run(ctx, ag, t, e)
	if err != nil {
		return err
	}
	if err := r.store.SaveRun(ctx, e.ID, e.TaskID, res); err != nil {
		return err
	}
	return r.publish(ctx, res)
}

// waitApplied waits until the task is Doing with this agent on it.
func (r *Runner) waitApplied(ctx context.Context, e events.TaskAssignment) (vapora.Task, error) {
	deadline := time.Now().Add(r.applyWait)
	for {
		t, err := r.tasks.TaskRecord(ctx, e.TaskID)
		if errors.Is(err, vapora.ErrNotFound) {
			return vapora.Task{}, bus.Permanent(fmt.Errorf("task %s does not exist", e.TaskID))
		}
		if err != nil {
			return vapora.Task{}, err
		}
		if t.Status == "Doing" && t.AssignedAgent != nil && *t.AssignedAgent == e.AgentID {
			return t, nil
		}
		if time.Now().After(deadline) {
			return vapora.Task{}, fmt.Errorf("task %s is %s, not yet Doing for %s: retry", t.ID, t.Status, e.AgentID)
		}
		select {
		case <-ctx.Done():
			return vapora.Task{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// run routes the task's prompt; a refusal or a failure of every provider is
// a failed result (the task goes back to Todo), not a retry.
func (r *Runner) run(ctx context.Context, ag vapora.Agent, t vapora.Task, e events.TaskAssignment) (events.TaskResult, error) {
	start := time.Now()
	know := r.knowledge(ctx, t, e.TaskType)
	req := llm.RouteRequest{Role: ag.Role, TaskType: e.TaskType, AgentID: ag.ID, Messages: Prompt(ag, t, e.TaskType, know),
		MaxTokens: r.maxTokens}
	out, err := r.router.Route(ctx, req)
	res := events.TaskResult{ID: "run-" + e.ID, TaskID: t.ID, AgentID: ag.ID, Status: "success",
		DurationMs: time.Since(start).Milliseconds()}
	var in *llm.InputError
	var be *llm.BudgetError
	var af *llm.AllFailedError
	switch {
	case err == nil:
		res.Output, res.InputTokens, res.OutputTokens, res.CostCents = out.Output, out.InputTokens, out.OutputTokens, out.CostCents
		res.Tokens = out.InputTokens + out.OutputTokens
	case errors.As(err, &in), errors.As(err, &be), errors.As(err, &af), errors.Is(err, llm.ErrNoRule):
		res.Status, res.Output = "failure", err.Error()
		obs.Log(ctx).Warn("built-in agent could not run the task", "task_id", t.ID, "agent_id", ag.ID, "err", err)
	default:
		return events.TaskResult{}, err
	}
	if len(res.Output) > 500<<10 {
		res.Output = res.Output[:500<<10]
	}
	return res, nil
}

func (r *Runner) publish(ctx context.Context, res events.TaskResult) error {
	if _, err := r.bus.Publish(ctx, events.SubjectTaskResult, res.ID, res, nil); err != nil {
		return fmt.Errorf("publish result of %s: %w", res.TaskID, err)
	}
	return nil
}

// Prompt is what a built-in agent is asked for a task: its role, then the
// task's title, type, priority and description, then what Kogral knows
// that bears on it.
func Prompt(ag vapora.Agent, t vapora.Task, taskType string, know Knowledge) []llm.Message {
	sys := fmt.Sprintf("You are a Vapora %s agent. Do the task you are given and answer with the result itself, "+
		"ready for review.", ag.Role)
	if !know.empty() {
		sys += " Follow the team's guidelines and decisions below; use its patterns where they fit."
	}
	var u strings.Builder
	fmt.Fprintf(&u, "Task: %s\nType: %s\nPriority: %s\n", t.Title, taskType, t.Priority)
	if len(t.Tags) > 0 {
		fmt.Fprintf(&u, "Tags: %s\n", strings.Join(t.Tags, ", "))
	}
	if t.Description != nil && *t.Description != "" {
		fmt.Fprintf(&u, "\n%s\n", *t.Description)
	}
	know.write(&u)
	return []llm.Message{{Role: "system", Content: sys}, {Role: "user", Content: u.String()}}
}

// Functions is vapora-agent-runner, by catalog name.
func Functions() function.Set {
	return function.Set{"vapora-agent-runner": Function}
}

// Function is vapora-agent-runner.
func Function() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		router, err := llm.RouterFromDeps(ctx, d)
		if err != nil {
			return nil, err
		}
		maxTokens, err := strconv.ParseInt(d.Env("VAPORA_RUNNER_MAX_TOKENS"), 10, 64)
		if err != nil || maxTokens <= 0 {
			return nil, fmt.Errorf("VAPORA_RUNNER_MAX_TOKENS %q: want a positive integer", d.Env("VAPORA_RUNNER_MAX_TOKENS"))
		}
		// The runner only reads tasks and agents, which takes no lock.
		kogral := vapora.NewKogralClient(d.Env("KOGRAL_URL"), d.Env("KOGRAL_API_KEY"))
		r := NewRunner(router, vapora.NewStore(d.Surreal, nil), kogral, d.Bus, maxTokens)
		return bus.Typed(func(ctx context.Context, del bus.Delivery, e events.TaskAssignment) error {
			return r.OnAssign(ctx, del, e)
		}), nil
	})
}
