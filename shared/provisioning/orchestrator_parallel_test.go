package provisioning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
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
	p, err := provisioning.Prepare(layered("par", 4, 6, 3))
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

// dropReady fails the first publish of one task's ready message, as an
// instance that died after its completion committed (queueing the task) and
// before it published that.
type dropReady struct {
	provisioning.Publisher
	task    string
	dropped atomic.Bool
}

func (d *dropReady) Publish(ctx context.Context, subject, msgID string, v any, h map[string]string) (bool, error) {
	if e, ok := v.(events.TaskEvent); ok && subject == events.SubjectTaskReady && e.TaskID == d.task && d.dropped.CompareAndSwap(false, true) {
		return false, errors.New("instance died")
	}
	return d.Publisher.Publish(ctx, subject, msgID, v, h)
}

// TestQueuedTaskUnpublishedIsPublishedAgain: a completion queues its
// dependents in the transaction that ends the attempt, claims the first
// (b) to run it next itself and publishes the other (c) after; when that
// publish is lost, the completed task's step is delivered again, finds its
// task ended, publishes the task it had claimed and every Queued task
// again, so the workflow finishes with each task made once.
func TestQueuedTaskUnpublishedIsPublishedAgain(t *testing.T) {
	e := setup(t)
	c := &counting{made: map[string]int{}}
	d := &dropReady{Publisher: e.bus, task: "c"}
	f, _ := catalog.Lookup("provisioning-orchestrator")
	o := provisioning.NewOrchestrator(e.store, d, provisioning.Providers{"local": c})
	sub, err := e.bus.Consume(context.Background(), bus.SpecFor(f, 20*time.Millisecond), bus.Each(o.Handler()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
	w := provisioning.Workflow{ID: fmt.Sprintf("drop-%d-%d", time.Now().UnixNano(), seq.Add(1)), Name: "drop", Environment: "development",
		Defaults: provisioning.Defaults{Provider: "local"}, Tasks: []provisioning.Task{{ID: "a", Kind: "network"},
			{ID: "b", Kind: "network", DependsOn: []string{"a"}}, {ID: "c", Kind: "network", DependsOn: []string{"a"}}}}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	e.submit(t, p)
	done := e.waitStatus(t, p.ID, provisioning.StatusSucceeded)
	checkOrder(t, done)
	if !d.dropped.Load() {
		t.Fatal("c's ready message was never published")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.made {
		if n != 1 {
			t.Fatalf("%s created %d times", k, n)
		}
	}
	if len(c.made) != 3 {
		t.Fatalf("made %v", c.made)
	}
}

// TestConcurrentCompletionsQueueEveryDependent runs the bench's DAG (10
// layers of 10, each task depending on two of the layer before) with
// max_parallel 10: completions commit together all the time, each in the
// transaction that queues what it made ready, yet every dependent is queued
// (two completions that each see the other Running conflict on it) and the
// workflow ends Succeeded (its last tasks each send a done message).
func TestConcurrentCompletionsQueueEveryDependent(t *testing.T) {
	e := setup(t)
	c := &counting{made: map[string]int{}}
	e.run(t, c, 30*time.Second)
	p, err := provisioning.Prepare(layered("dag", 10, 10, 10))
	if err != nil {
		t.Fatal(err)
	}
	e.submit(t, p)
	checkOrder(t, e.waitStatus(t, p.ID, provisioning.StatusSucceeded))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.made) != 100 || c.most > 10 {
		t.Fatalf("%d tasks made, at most %d at once", len(c.made), c.most)
	}
	for k, n := range c.made {
		if n != 1 {
			t.Fatalf("%s created %d times", k, n)
		}
	}
}

// layered is a workflow of layers × width network tasks, each task after
// two of the layer before it (t<l-1>-<j> and t<l-1>-<j+1 mod width>).
func layered(name string, layers, width, maxParallel int) provisioning.Workflow {
	w := provisioning.Workflow{ID: fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), seq.Add(1)), Name: name, Environment: "development",
		MaxParallel: maxParallel, Defaults: provisioning.Defaults{Provider: "local"}}
	for l := range layers {
		for j := range width {
			task := provisioning.Task{ID: fmt.Sprintf("t%d-%d", l, j), Kind: "network", Spec: json.RawMessage(`{"ports":1}`)}
			if l > 0 {
				task.DependsOn = []string{fmt.Sprintf("t%d-%d", l-1, j), fmt.Sprintf("t%d-%d", l-1, (j+1)%width)}
			}
			w.Tasks = append(w.Tasks, task)
		}
	}
	return w
}
