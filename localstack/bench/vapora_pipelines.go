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
	// The hand-over's hops: result published → the next stage's Running
	// event published (the pipeline's write stored) → its assignment
	// published → received here.
	stageAt := map[string]time.Time{} // stage task id → when its Running event was published
	var hopSave, hopAssign, hopRecv []time.Duration
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
			if st, ok := stageAt[e.TaskID]; ok {
				hopSave = append(hopSave, st.Sub(prev))
				hopAssign = append(hopAssign, d.Time.Sub(st))
			}
			hopRecv = append(hopRecv, now.Sub(d.Time))
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
	lastDone := make(chan struct{}, benchPipelines) // a pipeline's last stage Succeeded
	finished := map[string]bool{}
	stageSub, err := b.Consume(ctx, bus.ConsumerSpec{Name: fmt.Sprintf("bench-stages-%d", run), Subjects: []string{events.SubjectPipelineStage},
		MaxDeliver: 3, Concurrency: 4}, bus.Each(bus.Typed(func(ctx context.Context, d bus.Delivery, e events.StageEvent) error {
		var n int
		fmt.Sscanf(e.Stage, "stage-%d", &n)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case e.Status == vapora.StageSucceeded && n == benchStages-1 && !finished[e.PipelineID]:
			finished[e.PipelineID] = true
			lastDone <- struct{}{}
		case e.Status == vapora.StageRunning:
			stageAt[fmt.Sprintf("pt_%s_%d", e.PipelineID, n)] = d.Time
		}
		return nil
	})))
	if err != nil {
		return nil, err
	}
	defer stageSub.Stop()
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
	// Wait for the last stages' events rather than polling 100 pipelines a
	// second (the polling was load on the system measured), then check each.
	timeout := time.After(10 * time.Minute)
	for n := 0; n < benchPipelines; n++ {
		select {
		case <-lastDone:
		case <-timeout:
			return nil, fmt.Errorf("pipelines: %d of %d finished their last stage after 10 minutes", n, benchPipelines)
		}
	}
	elapsed := time.Since(start)
	for _, id := range ids {
		var pl struct{ Status string }
		if err := api.do("GET", "/pipelines/"+id, nil, &pl); err != nil {
			return nil, err
		}
		if pl.Status != vapora.PipelineSucceeded {
			return nil, fmt.Errorf("pipeline %s is %s after its last stage succeeded", id, pl.Status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range []struct {
		n string
		d []time.Duration
	}{{"result→pipeline saved", hopSave}, {"saved→assign published", hopAssign}, {"assign published→received", hopRecv}} {
		hr := summarize(h.n, [][]time.Duration{h.d}, elapsed, 0)
		fmt.Printf("hop %-28s n=%d p50=%s p99=%s\n", h.n, len(h.d), hr.p50, hr.p99)
	}
	r := summarize("vapora stage→next stage", [][]time.Duration{lat}, elapsed, failures.Load())
	r.p99Target = 250 * time.Millisecond
	fmt.Printf("(pipelines: %d × %d stages all Succeeded in %s; %d stage hand-overs measured, target p50 ≤ 50ms)\n",
		benchPipelines, benchStages, r.elapsed.Round(time.Millisecond), len(lat))
	return []result{r}, nil
}
