// Package vaporafn wires Vapora's functions, by catalog name. It is apart
// from package vapora so that a Lambda that only reads Vapora's records
// (vapora-agent-runner) does not link every Vapora function with it.
package vaporafn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// Lock timing: a crashed holder's lock lapses after lockTTL; a caller waits
// at most lockWait for one.
const (
	lockBucket = "vapora-locks"
	lockTTL    = 10 * time.Second
	lockWait   = 5 * time.Second
)

func storeFor(ctx context.Context, d *function.Deps) (*vapora.Store, error) {
	locks, err := d.Bus.Locks(ctx, lockBucket, lockTTL, lockWait)
	if err != nil {
		return nil, err
	}
	return vapora.NewStore(d.Surreal, locks), nil
}

func apiFor(ctx context.Context, d *function.Deps) (*vapora.API, error) {
	store, err := storeFor(ctx, d)
	if err != nil {
		return nil, err
	}
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		return nil, err
	}
	auth, err := d.Authenticator()
	if err != nil {
		return nil, err
	}
	return vapora.NewAPI(store, d.Bus, engine, auth), nil
}

func agentsFor(ctx context.Context, d *function.Deps) (*vapora.Agents, error) {
	store, err := storeFor(ctx, d)
	if err != nil {
		return nil, err
	}
	return vapora.NewAgents(store, d.Bus), nil
}

// knowledgeAPIFor is the API with Kogral's client (KOGRAL_URL, KOGRAL_API_KEY).
func knowledgeAPIFor(ctx context.Context, d *function.Deps) (*vapora.API, error) {
	a, err := apiFor(ctx, d)
	if err != nil {
		return nil, err
	}
	return a.WithKogral(vapora.NewKogralClient(d.Env("KOGRAL_URL"), d.Env("KOGRAL_API_KEY"))), nil
}

func pipelinesFor(ctx context.Context, d *function.Deps) (*vapora.Pipelines, error) {
	store, err := storeFor(ctx, d)
	if err != nil {
		return nil, err
	}
	return vapora.NewPipelines(store, vapora.NewAgents(store, d.Bus), d.Bus), nil
}

// consumer builds a consumer of one event type from the agent logic.
func consumer[T any](apply func(*vapora.Agents) func(context.Context, bus.Delivery, T) error) function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		a, err := agentsFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return bus.Typed(apply(a)), nil
	})
}

// offering builds a consumer that applies an agent event and then offers
// the agent to the pipeline stages waiting for its role.
func offering[T any](apply func(*vapora.Agents) func(context.Context, bus.Delivery, T) error, agent func(T) string) function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		p, err := pipelinesFor(ctx, d)
		if err != nil {
			return nil, err
		}
		handle := apply(p.Agents())
		return bus.Typed(func(ctx context.Context, d bus.Delivery, e T) error {
			if err := handle(ctx, d, e); err != nil {
				return err
			}
			return p.Offer(ctx, agent(e))
		}), nil
	})
}

// Functions are Vapora's functions, by catalog name.
func Functions() function.Set {
	return function.Set{"vapora-projects": Projects, "vapora-agents": Agents, "vapora-swarm": Swarm,
		"vapora-pipelines": Pipelines, "vapora-knowledge": Knowledge, "vapora-pipeline-on-result": PipelineOnResult,
		"vapora-pipeline-sweep": PipelineSweep, "vapora-on-task-assign": OnTaskAssign, "vapora-on-task-result": OnTaskResult,
		"vapora-on-heartbeat": OnHeartbeat, "vapora-on-agent-register": OnAgentRegister, "vapora-agent-sweep": AgentSweep,
		"vapora-board-check": BoardCheck, "vapora-live": Live, "vapora-live-push": LivePush}
}

// Projects is vapora-projects.
func Projects() function.Builder {
	return function.HTTP(vapora.ProjectsSpec, apiFor)
}

// Agents is vapora-agents.
func Agents() function.Builder {
	return function.HTTP(vapora.AgentsSpec, apiFor)
}

// Swarm is vapora-swarm.
func Swarm() function.Builder {
	return function.HTTP(vapora.SwarmSpec, apiFor)
}

// Pipelines is vapora-pipelines.
func Pipelines() function.Builder {
	return function.HTTP(vapora.PipelinesSpec, apiFor)
}

// Knowledge is vapora-knowledge.
func Knowledge() function.Builder {
	return function.HTTP(vapora.KnowledgeSpec, knowledgeAPIFor)
}

// PipelineOnResult is vapora-pipeline-on-result.
func PipelineOnResult() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		p, err := pipelinesFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return bus.Typed(p.OnResult), nil
	})
}

// PipelineSweep is vapora-pipeline-sweep.
func PipelineSweep() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		p, err := pipelinesFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, _ []byte) ([]byte, error) {
			expired, active, err := p.Sweep(ctx)
			if err != nil {
				return nil, err
			}
			return []byte(fmt.Sprintf(`{"expired":%d,"active":%d}`, expired, active)), nil
		}, nil
	})
}

// OnTaskAssign is vapora-on-task-assign.
func OnTaskAssign() function.Builder {
	return consumer(func(a *vapora.Agents) func(context.Context, bus.Delivery, events.TaskAssignment) error {
		return a.OnAssign
	})
}

// OnTaskResult is vapora-on-task-result: the agent that shed the task's
// load takes a stage waiting for its role at once.
func OnTaskResult() function.Builder {
	return offering(func(a *vapora.Agents) func(context.Context, bus.Delivery, events.TaskResult) error { return a.OnResult },
		func(e events.TaskResult) string { return e.AgentID })
}

// OnHeartbeat is vapora-on-heartbeat: an agent a heartbeat frees room on
// takes a stage waiting for its role at once.
func OnHeartbeat() function.Builder {
	return function.BatchConsumer(func(ctx context.Context, d *function.Deps) (bus.BatchHandler, error) {
		p, err := pipelinesFor(ctx, d)
		if err != nil {
			return nil, err
		}
		return bus.TypedBatch(p.OnHeartbeats), nil
	})
}

// OnAgentRegister is vapora-on-agent-register: a new (or returning) agent
// takes a stage waiting for its role at once.
func OnAgentRegister() function.Builder {
	return offering(func(a *vapora.Agents) func(context.Context, bus.Delivery, events.AgentRegistration) error {
		return a.OnRegister
	},
		func(e events.AgentRegistration) string { return e.AgentID })
}

// AgentSweep is vapora-agent-sweep.
func AgentSweep() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		a, err := agentsFor(ctx, d)
		if err != nil {
			return nil, err
		}
		interval, err := time.ParseDuration(d.Env("VAPORA_HEARTBEAT_INTERVAL"))
		if err != nil || interval <= 0 {
			return nil, fmt.Errorf("VAPORA_HEARTBEAT_INTERVAL %q: want a duration such as 30s", d.Env("VAPORA_HEARTBEAT_INTERVAL"))
		}
		return func(ctx context.Context, _ []byte) ([]byte, error) {
			n, err := a.Sweep(ctx, interval)
			if err != nil {
				return nil, err
			}
			return []byte(fmt.Sprintf(`{"offline":%d}`, n)), nil
		}, nil
	})
}

// BoardCheck is vapora-board-check.
func BoardCheck() function.Builder {
	return function.Invoke(func(ctx context.Context, d *function.Deps) (invoke.Handler, error) {
		store, err := storeFor(ctx, d)
		if err != nil {
			return nil, err
		}
		check := vapora.NewBoardCheck(store, d.Bus, d.Log)
		return func(ctx context.Context, _ []byte) ([]byte, error) {
			sum, err := check.Run(ctx)
			if err != nil {
				return nil, err
			}
			return json.Marshal(sum)
		}, nil
	})
}
