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
	clock := &handovers{run: time.Now().UnixNano(), answered: map[string]time.Time{}, stageAt: map[string]time.Time{},
		finished: map[string]bool{}, lastDone: make(chan struct{}, benchPipelines)}
	for i := range benchAgents {
		id := fmt.Sprintf("bench-pl-%d-%d", clock.run, i)
		if err := api.do("POST", "/agents/register", map[string]any{"agent_id": id, "role": "Presenter"}, nil); err != nil {
			return nil, err
		}
	}
	stop, err := clock.listen(ctx, b)
	if err != nil {
		return nil, err
	}
	defer stop()
	start := time.Now()
	ids, err := startPipelines(api, &clock.failures)
	if err != nil {
		return nil, err
	}
	if err := clock.waitAndCheck(api, ids); err != nil {
		return nil, err
	}
	return []result{clock.report(time.Since(start))}, nil
}

// handovers times the stage hand-overs: the simulated agents answer each
// assignment at once and note when; the next stage's assignment arriving
// closes a hand-over. Its hops: result published → the next stage's
// Running event published (the pipeline's write stored) → its assignment
// published → received here.
type handovers struct {
	run      int64
	failures atomic.Int64
	lastDone chan struct{} // a pipeline's last stage Succeeded

	mu                               sync.Mutex
	answered                         map[string]time.Time // stage task id → when its result was published
	stageAt                          map[string]time.Time // stage task id → when its Running event was published
	finished                         map[string]bool
	lat, hopSave, hopAssign, hopRecv []time.Duration
}

// listen starts the simulated agents and the stage-event watcher.
func (h *handovers) listen(ctx context.Context, b *bus.Bus) (stop func(), err error) {
	sub, err := b.Consume(ctx, bus.ConsumerSpec{Name: fmt.Sprintf("bench-agents-%d", h.run), Subjects: []string{events.SubjectTaskAssign},
		MaxDeliver: 3, Concurrency: benchAgents}, bus.Each(bus.Typed(func(ctx context.Context, d bus.Delivery, e events.TaskAssignment) error {
		return h.assigned(ctx, b, d, e)
	})))
	if err != nil {
		return nil, err
	}
	stageSub, err := b.Consume(ctx, bus.ConsumerSpec{Name: fmt.Sprintf("bench-stages-%d", h.run), Subjects: []string{events.SubjectPipelineStage},
		MaxDeliver: 3, Concurrency: 4}, bus.Each(bus.Typed(func(ctx context.Context, d bus.Delivery, e events.StageEvent) error {
		h.stage(d, e)
		return nil
	})))
	if err != nil {
		sub.Stop()
		return nil, err
	}
	return func() { sub.Stop(); stageSub.Stop() }, nil
}

// assigned is an agent given a stage task: it closes the previous stage's
// hand-over and answers at once.
func (h *handovers) assigned(ctx context.Context, b *bus.Bus, d bus.Delivery, e events.TaskAssignment) error {
	pid, stage, rollback, ok := vapora.ParseStageTask(e.TaskID)
	if !ok || rollback || !strings.Contains(e.AgentID, fmt.Sprint(h.run)) {
		return nil
	}
	now := time.Now()
	h.mu.Lock()
	if prev, ok := h.answered[fmt.Sprintf("pt_%s_%d", pid, stage-1)]; ok {
		h.lat = append(h.lat, now.Sub(prev))
		if st, ok := h.stageAt[e.TaskID]; ok {
			h.hopSave = append(h.hopSave, st.Sub(prev))
			h.hopAssign = append(h.hopAssign, d.Time.Sub(st))
		}
		h.hopRecv = append(h.hopRecv, now.Sub(d.Time))
	}
	h.answered[e.TaskID] = now
	h.mu.Unlock()
	res := events.TaskResult{ID: "bench-res-" + e.TaskID, TaskID: e.TaskID, AgentID: e.AgentID, Status: "success", DurationMs: 1}
	if _, err := b.Publish(ctx, events.SubjectTaskResult, res.ID, res, nil); err != nil {
		h.failures.Add(1)
		return err
	}
	return nil
}

// stage notes a stage's Running event and each pipeline's last stage done.
func (h *handovers) stage(d bus.Delivery, e events.StageEvent) {
	var n int
	fmt.Sscanf(e.Stage, "stage-%d", &n)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case e.Status == vapora.StageSucceeded && n == benchStages-1 && !h.finished[e.PipelineID]:
		h.finished[e.PipelineID] = true
		h.lastDone <- struct{}{}
	case e.Status == vapora.StageRunning:
		h.stageAt[fmt.Sprintf("pt_%s_%d", e.PipelineID, n)] = d.Time
	}
}

// startPipelines starts benchPipelines pipelines at once, one project each
// as separate teams would run them.
func startPipelines(api *vaporaClient, failures *atomic.Int64) ([]string, error) {
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
	return ids, nil
}

// waitAndCheck waits for the last stages' events rather than polling 100
// pipelines a second (the polling was load on the system measured), then
// checks each pipeline Succeeded.
func (h *handovers) waitAndCheck(api *vaporaClient, ids []string) error {
	timeout := time.After(10 * time.Minute)
	for n := 0; n < benchPipelines; n++ {
		select {
		case <-h.lastDone:
		case <-timeout:
			return fmt.Errorf("pipelines: %d of %d finished their last stage after 10 minutes", n, benchPipelines)
		}
	}
	for _, id := range ids {
		var pl struct{ Status string }
		if err := api.do("GET", "/pipelines/"+id, nil, &pl); err != nil {
			return err
		}
		if pl.Status != vapora.PipelineSucceeded {
			return fmt.Errorf("pipeline %s is %s after its last stage succeeded", id, pl.Status)
		}
	}
	return nil
}

// report prints the hops and gives the hand-over's figures.
func (h *handovers) report(elapsed time.Duration) result {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hop := range []struct {
		n string
		d []time.Duration
	}{{"result→pipeline saved", h.hopSave}, {"saved→assign published", h.hopAssign}, {"assign published→received", h.hopRecv}} {
		hr := summarize(hop.n, [][]time.Duration{hop.d}, elapsed, 0)
		fmt.Printf("hop %-28s n=%d p50=%s p99=%s\n", hop.n, len(hop.d), hr.p50, hr.p99)
	}
	r := summarize("vapora stage→next stage", [][]time.Duration{h.lat}, elapsed, h.failures.Load())
	r.p99Target = 250 * time.Millisecond
	fmt.Printf("(pipelines: %d × %d stages all Succeeded in %s; %d stage hand-overs measured, target p50 ≤ 50ms)\n",
		benchPipelines, benchStages, r.elapsed.Round(time.Millisecond), len(h.lat))
	return r
}
