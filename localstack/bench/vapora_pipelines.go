package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

const (
	benchPipelines = 100
	benchStages    = 5
	benchAgents    = 20
)

// benchPipelineRuns runs 100 pipelines of 5 stages, with 20 simulated agents
// that answer every assignment at once, and measures stage to next stage:
// from a stage's result published to the next stage's task assigned.
func benchPipelineRuns(ctx context.Context, ep devstack.Endpoints) ([]result, error) {
	api := &vaporaClient{base: ep.Gateways["vapora"], key: ep.APIKey, http: keepAliveClient(benchAgents)}
	b, err := bus.Connect(ctx, ep.NATS, "bench-pipelines", nil)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	run := time.Now().UnixNano()
	for i := range benchAgents {
		id := fmt.Sprintf("bench-pl-%d-%d", run, i)
		if err := api.do("POST", "/agents/register", map[string]any{"agent_id": id, "role": "Presenter"}, nil); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	answered := map[string]time.Time{} // stage task id → when its result was published
	var lat []time.Duration
	var failures atomic.Int64
	agents := func(ctx context.Context, d bus.Delivery, e events.TaskAssignment) error {
		pid, stage, rollback, ok := vapora.ParseStageTask(e.TaskID)
		if !ok || rollback || !strings.Contains(e.AgentID, fmt.Sprint(run)) {
			return nil
		}
		now := time.Now()
		mu.Lock()
		if prev, ok := answered[fmt.Sprintf("pt_%s_%d", pid, stage-1)]; ok {
			lat = append(lat, now.Sub(prev))
		}
		answered[e.TaskID] = now
		mu.Unlock()
		res := events.TaskResult{ID: "bench-res-" + e.TaskID, TaskID: e.TaskID, AgentID: e.AgentID, Status: "success", DurationMs: 1}
		if _, err := b.Publish(ctx, events.SubjectTaskResult, res.ID, res, nil); err != nil {
			failures.Add(1)
			return err
		}
		return nil
	}
	sub, err := b.Consume(ctx, bus.ConsumerSpec{Name: fmt.Sprintf("bench-agents-%d", run), Subjects: []string{events.SubjectTaskAssign},
		MaxDeliver: 3, Concurrency: benchAgents}, bus.Each(bus.Typed(agents)))
	if err != nil {
		return nil, err
	}
	defer sub.Stop()
	// One project per pipeline, as separate teams would run them.
	projects := make([]string, benchPipelines)
	for i := range projects {
		var p struct{ ID string }
		if err := api.do("POST", "/projects", map[string]any{"name": fmt.Sprint("bench-pipelines-", i), "scope": "demo"}, &p); err != nil {
			return nil, err
		}
		projects[i] = p.ID
	}
	stages := make([]map[string]any, benchStages)
	for i := range stages {
		stages[i] = map[string]any{"name": fmt.Sprint("stage-", i), "task_type": "present", "role": "Presenter"}
	}
	start := time.Now()
	ids := make([]string, benchPipelines)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			var out struct{ ID string }
			if err := api.do("POST", "/pipelines", map[string]any{"project_id": projects[i], "name": fmt.Sprint("bench ", i), "stages": stages}, &out); err != nil {
				failures.Add(1)
			}
			ids[i] = out.ID
		})
	}
	wg.Wait()
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(time.Second) {
		done := 0
		for _, id := range ids {
			var pl struct{ Status string }
			if err := api.do("GET", "/pipelines/"+id, nil, &pl); err != nil {
				return nil, err
			}
			if pl.Status == vapora.PipelineSucceeded {
				done++
			}
		}
		if done == benchPipelines {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pipelines: %d of %d Succeeded after 10 minutes", done, benchPipelines)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	r := summarize("vapora stage→next stage", [][]time.Duration{lat}, time.Since(start), failures.Load())
	r.p99Target = 250 * time.Millisecond
	fmt.Printf("(pipelines: %d × %d stages all Succeeded in %s; %d stage hand-overs measured, target p50 ≤ 50ms)\n",
		benchPipelines, benchStages, r.elapsed.Round(time.Millisecond), len(lat))
	return []result{r}, nil
}
