package provisioning_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// counting is a provider that takes a moment per create and records the
// most creates it ever had at once.
type counting struct {
	mu        sync.Mutex
	now, most int
	made      map[string]int
}

func (c *counting) Create(ctx context.Context, key string, t provisioning.PreparedTask, _ map[string]provisioning.Resource) (provisioning.Resource, error) {
	c.mu.Lock()
	c.now++
	c.most = max(c.most, c.now)
	c.made[key]++
	c.mu.Unlock()
	time.Sleep(15 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return provisioning.Resource{ID: key, Kind: t.Kind, Provider: "local"}, nil
}
func (c *counting) Read(context.Context, provisioning.Resource) (bool, error) { return true, nil }
func (c *counting) Delete(context.Context, provisioning.Resource) error       { return nil }

// TestMaxParallelHoldsAcrossInstances runs a 4-layer DAG of width 6 with
// max_parallel 3 on two orchestrator instances (two connections, as two
// Lambdas): completions arrive together and are decided concurrently, yet
// no more than 3 creates ever run at once, every task runs once, in order.
func TestMaxParallelHoldsAcrossInstances(t *testing.T) {
	e := setup(t)
	c := &counting{made: map[string]int{}}
	e.run(t, c, 30*time.Second)
	other, err := bus.Connect(context.Background(), natsURL, t.Name()+"-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	e.runOn(t, other, c, 30*time.Second)
	w := provisioning.Workflow{ID: fmt.Sprintf("par-%d-%d", time.Now().UnixNano(), seq.Add(1)), Name: "par", Environment: "development",
		MaxParallel: 3, Defaults: provisioning.Defaults{Provider: "local"}}
	for l := range 4 {
		for j := range 6 {
			task := provisioning.Task{ID: fmt.Sprintf("t%d-%d", l, j), Kind: "network", Spec: json.RawMessage(`{"ports":1}`)}
			if l > 0 {
				task.DependsOn = []string{fmt.Sprintf("t%d-%d", l-1, j), fmt.Sprintf("t%d-%d", l-1, (j+1)%6)}
			}
			w.Tasks = append(w.Tasks, task)
		}
	}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	e.submit(t, p)
	done := e.waitStatus(t, p.ID, provisioning.StatusSucceeded)
	checkOrder(t, done)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.most > 3 || c.most < 2 {
		t.Fatalf("at most %d creates at once, want 2..3 under max_parallel 3", c.most)
	}
	if len(c.made) != 24 {
		t.Fatalf("%d tasks created, want 24", len(c.made))
	}
	for k, n := range c.made {
		if n != 1 {
			t.Fatalf("%s created %d times", k, n)
		}
	}
}
