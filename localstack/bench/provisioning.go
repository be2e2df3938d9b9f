package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/provisioning"
)

const (
	provLayers = 10
	provWidth  = 10
)

// provDAG is a workflow of provLayers × provWidth no-op tasks on the local
// provider (a network of one port: a reservation and a directory); each
// task depends on two of the layer before, so every layer waits for the
// previous one.
func provDAG(id string) provisioning.Workflow {
	w := provisioning.Workflow{ID: id, Name: "bench", Environment: "development", MaxParallel: provWidth,
		Defaults: provisioning.Defaults{Provider: provisioning.ProviderLocal}}
	for l := range provLayers {
		for j := range provWidth {
			t := provisioning.Task{ID: fmt.Sprintf("t%d-%d", l, j), Kind: provisioning.KindNetwork, Spec: json.RawMessage(`{"ports":1}`)}
			if l > 0 {
				t.DependsOn = []string{fmt.Sprintf("t%d-%d", l-1, j), fmt.Sprintf("t%d-%d", l-1, (j+1)%provWidth)}
			}
			w.Tasks = append(w.Tasks, t)
		}
	}
	return w
}

// benchProvisioning runs the 100-task DAG once and reports its wall time
// (submit accepted → workflow finished, from the workflow's own
// timestamps) and the step overhead: for each task with dependencies, the
// time from its last dependency finishing to it starting.
func benchProvisioning(ctx context.Context, ep devstack.Endpoints) ([]result, error) {
	id := fmt.Sprintf("bench-dag-%d", time.Now().UnixNano())
	body, _ := json.Marshal(provDAG(id))
	call := func(method, path string, body []byte, out any) error {
		req, err := http.NewRequestWithContext(ctx, method, ep.Gateways["provisioning"]+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("X-API-Key", ep.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: HTTP %d", method, path, res.StatusCode)
		}
		return json.NewDecoder(res.Body).Decode(out)
	}
	var sub provisioning.SubmitResponse
	if err := call("POST", "/workflows", body, &sub); err != nil {
		return nil, err
	}
	var w provisioning.WorkflowState
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if err := call("GET", "/workflows/"+id, nil, &w); err != nil {
			return nil, err
		}
		if w.FinishedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("provisioning DAG %s still %s after 2 minutes", id, w.Status)
		}
	}
	if w.Status != provisioning.StatusSucceeded {
		return nil, fmt.Errorf("provisioning DAG %s ended %s: %s", id, w.Status, strOf(w.Error))
	}
	var overhead []time.Duration
	for _, t := range w.Tasks {
		var last time.Time
		for _, d := range t.DependsOn {
			if f := w.Task(d).FinishedAt; f != nil && f.After(last) {
				last = *f
			}
		}
		if !last.IsZero() && t.StartedAt != nil {
			overhead = append(overhead, t.StartedAt.Sub(last))
		}
	}
	total := w.FinishedAt.Sub(w.CreatedAt)
	dag := result{name: "prov 100-task DAG (tasks)", ops: int64(len(w.Tasks)), elapsed: total, target: float64(len(w.Tasks)) / 10}
	step := summarize("prov step overhead", [][]time.Duration{overhead}, total, 0)
	step.p99Target = 100 * time.Millisecond
	fmt.Printf("(provisioning: %d tasks in %s (target ≤ 10s); step overhead p50 %s (target ≤ 20ms), p99 %s (target ≤ 100ms))\n",
		len(w.Tasks), total.Round(time.Millisecond), step.p50.Round(100*time.Microsecond), step.p99.Round(100*time.Microsecond))
	return []result{dag, step}, nil
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
