package provisioning_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/local"
)

// TestMain starts SurrealDB for every test of the package; run with
// LOCAL_SERVE=1 the test binary is the local provider's server instead.
func TestMain(m *testing.M) {
	if os.Getenv("LOCAL_SERVE") == "1" {
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		dir, port := fs.String("dir", "", ""), fs.Int("port", 0, "")
		_ = fs.Parse(os.Args[1:])
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := local.Serve(ctx, *dir, *port); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(localsurreal.RunTests(m, provisioning.SurrealURLForTest))
}

var (
	natsOnce sync.Once
	natsURL  string
	seq      atomic.Int64
)

type env struct {
	store *provisioning.Store
	bus   *bus.Bus
	dir   string
}

func setup(t *testing.T) env {
	t.Helper()
	natsOnce.Do(func() {
		srv, err := localnats.Start(localnats.Options{})
		if err != nil {
			panic(err)
		}
		natsURL = srv.URL()
	})
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: *provisioning.SurrealURLForTest, User: "root", Pass: "root",
		Namespace: surreal.Namespace, Database: "provisioning"}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/provisioning"); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(ctx, natsURL, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
		t.Fatal(err)
	}
	return env{store: provisioning.NewStore(db), bus: b, dir: t.TempDir()}
}

func (e env) provider(t *testing.T, quotaGB int) *local.Provider {
	t.Helper()
	p, err := local.New(local.Config{Dir: e.dir, PortLow: 21000 + int(seq.Add(1))*100, PortHigh: 21099 + int(seq.Load())*100,
		MaxStorageGB: quotaGB, ServerCommand: []string{os.Args[0]}, ServerEnv: []string{"LOCAL_SERVE=1"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run consumes the orchestrator's subjects with p as the local provider
// until the returned stop is called. ackWait short makes a hung step be
// redelivered, as after a crash of its instance.
func (e env) run(t *testing.T, p provisioning.Provider, ackWait time.Duration) func() {
	t.Helper()
	return e.runOn(t, e.bus, p, ackWait)
}

func (e env) runOn(t *testing.T, b *bus.Bus, p provisioning.Provider, ackWait time.Duration) func() {
	t.Helper()
	f, _ := catalog.Lookup("provisioning-orchestrator")
	spec := bus.SpecFor(f, 20*time.Millisecond)
	spec.AckWait = ackWait
	o := provisioning.NewOrchestrator(e.store, b, provisioning.Providers{"local": p})
	sub, err := b.Consume(context.Background(), spec, bus.Each(o.Handler()))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(sub.Stop) }
	t.Cleanup(stop)
	return stop
}

func workflow(t *testing.T, storageGB int) *provisioning.Prepared {
	t.Helper()
	w := provisioning.Workflow{ID: fmt.Sprintf("wf-%d-%d", time.Now().UnixNano(), seq.Add(1)), Name: "five", Environment: "development",
		Defaults: provisioning.Defaults{Provider: "local", Retry: &provisioning.Retry{MaxAttempts: 3, BaseDelay: "100ms", MaxDelay: "5s"}},
		Tasks: []provisioning.Task{
			{ID: "net", Kind: "network", Spec: json.RawMessage(`{"ports":5}`)},
			{ID: "web", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"ubuntu","version":"24.04"}}`), DependsOn: []string{"net"}},
			{ID: "db", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"debian","version":"12"}}`), DependsOn: []string{"net"}},
			{ID: "data", Kind: "storage", Spec: json.RawMessage(fmt.Sprintf(`{"size_gb":%d,"attach_to":"db"}`, storageGB)), DependsOn: []string{"db"}},
			{ID: "app", Kind: "service", Spec: json.RawMessage(`{"server":"web"}`), DependsOn: []string{"web", "data"}},
		}}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e env) submit(t *testing.T, p *provisioning.Prepared) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := e.store.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	id := p.ID + ":submitted:1"
	if _, err := e.bus.Publish(ctx, events.SubjectWorkflowSubmitted, id, events.WorkflowEvent{ID: id, WorkflowID: p.ID, Run: 1}, nil); err != nil {
		t.Fatal(err)
	}
}

func (e env) waitStatus(t *testing.T, id string, want ...string) provisioning.WorkflowState {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		w, err := e.store.Get(context.Background(), id)
		if err == nil && slices.Contains(want, w.Status) {
			return w
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(w, "", " ")
			t.Fatalf("workflow never reached %v: %s (%v)", want, b, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// checkOrder: no task started before every task it depends on had finished.
func checkOrder(t *testing.T, w provisioning.WorkflowState) {
	t.Helper()
	for _, task := range w.Tasks {
		for _, d := range task.DependsOn {
			dep := w.Task(d)
			if task.StartedAt == nil || dep.FinishedAt == nil || task.StartedAt.Before(*dep.FinishedAt) {
				t.Fatalf("%s started %v before %s finished %v", task.Task, task.StartedAt, d, dep.FinishedAt)
			}
		}
	}
}

func pidAlive(t *testing.T, r *provisioning.Resource) bool {
	pid, _ := strconv.Atoi(r.Attrs["pid"])
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func TestWorkflowRunsInTopologicalOrder(t *testing.T) {
	e := setup(t)
	p := e.provider(t, 2)
	e.run(t, p, 30*time.Second)
	wf := workflow(t, 1)
	e.submit(t, wf)
	w := e.waitStatus(t, wf.ID, provisioning.StatusSucceeded)
	checkOrder(t, w)
	for _, task := range w.Tasks {
		if task.State != provisioning.TaskSucceeded || task.Attempt != 1 || task.Resource == nil {
			t.Fatalf("task %+v", task)
		}
	}
	if !pidAlive(t, w.Task("web").Resource) || !pidAlive(t, w.Task("app").Resource) {
		t.Fatal("server or service process not running")
	}
	steps, _ := e.store.Steps(context.Background(), wf.ID)
	if len(steps) != 5 {
		t.Fatalf("%d steps for 5 tasks", len(steps))
	}
	for _, task := range w.Tasks {
		_ = p.Delete(context.Background(), *task.Resource)
	}
}

func TestFailingTaskRetriesThenRollsBackInReverse(t *testing.T) {
	e := setup(t)
	stop := e.run(t, e.provider(t, 2), 30*time.Second)
	wf := workflow(t, 3) // over the 2 GB quota on every attempt, and small enough for the disk once the quota is raised
	e.submit(t, wf)
	w := e.waitStatus(t, wf.ID, provisioning.StatusRolledBack, provisioning.StatusRollbackFailed)
	if w.Status != provisioning.StatusRolledBack || w.Error == nil {
		t.Fatalf("status %s error %v left %v", w.Status, w.Error, w.Left)
	}
	data := w.Task("data")
	if data.State != provisioning.TaskFailed || data.Attempt != 3 {
		t.Fatalf("data %+v", data)
	}
	steps, _ := e.store.Steps(context.Background(), wf.ID)
	var tries []provisioning.Step
	var deletes []string
	for _, s := range steps {
		if s.Task == "data" && s.Action == "create" {
			tries = append(tries, s)
		}
		if s.Action == "delete" {
			deletes = append(deletes, s.Task)
		}
	}
	if len(tries) != 3 {
		t.Fatalf("%d attempts of data", len(tries))
	}
	for n := 1; n < 3; n++ { // attempt n+1 waits at least 2^n × 100ms after attempt n failed
		gap := tries[n].StartedAt.Sub(*tries[n-1].FinishedAt)
		if want := time.Duration(1<<n) * 100 * time.Millisecond; gap < want-5*time.Millisecond {
			t.Fatalf("attempt %d started %s after attempt %d failed, want ≥ %s", n+1, gap, n, want)
		}
	}
	if fmt.Sprint(deletes) != "[db web net]" {
		t.Fatalf("rolled back %v, want [db web net]", deletes)
	}
	for _, id := range []string{"net", "web", "db"} {
		if task := w.Task(id); task.State != provisioning.TaskRolledBack || task.Resource != nil {
			t.Fatalf("%s after rollback: %+v", id, task)
		}
	}
	if app := w.Task("app"); app.State != provisioning.TaskPending {
		t.Fatalf("app %+v", app)
	}
	for _, sub := range []string{"servers", "networks", "storage"} {
		entries, _ := os.ReadDir(filepath.Join(e.dir, sub))
		if len(entries) != 0 {
			t.Fatalf("%s left after rollback: %v", sub, entries)
		}
	}

	// The fix: a larger quota (a new deployment of the orchestrator); then resume.
	stop()
	p := e.provider(t, 100)
	e.run(t, p, 30*time.Second)
	run, ok, err := e.store.Resume(context.Background(), wf.ID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	id := fmt.Sprintf("%s:resumed:%d", wf.ID, run)
	_, _ = e.bus.Publish(context.Background(), events.SubjectWorkflowResumed, id, events.WorkflowEvent{ID: id, WorkflowID: wf.ID, Run: run}, nil)
	w = e.waitStatus(t, wf.ID, provisioning.StatusSucceeded)
	checkOrder(t, w)
	if w.Task("data").Attempt != 1 || w.Run != 2 {
		t.Fatalf("after resume: data attempt %d run %d", w.Task("data").Attempt, w.Run)
	}
	for _, task := range w.Tasks {
		_ = p.Delete(context.Background(), *task.Resource)
	}
}

// hangOnce makes the first create of one task do its work and then hang, as
// an instance that died before checkpointing the result would.
type hangOnce struct {
	provisioning.Provider
	task    string
	hung    atomic.Bool
	release chan struct{}
	first   chan provisioning.Resource
}

func (h *hangOnce) Create(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	r, err := h.Provider.Create(ctx, key, t, deps)
	if t.ID == h.task && h.hung.CompareAndSwap(false, true) {
		h.first <- r
		<-h.release
		return provisioning.Resource{}, fmt.Errorf("instance died")
	}
	return r, err
}

// An instance dies (its NATS connection goes, it stops answering) after
// its provider call made the server and before it checkpointed the result;
// another instance gets the step after AckWait and makes nothing twice.
// The step is db's, claimed from its own ready message, or web's, which
// net's completion claimed and ran in the delivery of net's message: that
// message comes again and publishes web's.
func TestRedeliveredStepCreatesNothingTwice(t *testing.T) {
	for _, task := range []string{"db", "web"} {
		t.Run(task, func(t *testing.T) { redeliveredStep(t, task) })
	}
}

func redeliveredStep(t *testing.T, task string) {
	e := setup(t)
	h := &hangOnce{Provider: e.provider(t, 2), task: task, release: make(chan struct{}), first: make(chan provisioning.Resource, 1)}
	defer close(h.release)
	dying, err := bus.Connect(context.Background(), natsURL, "dying-"+task, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.runOn(t, dying, h, 2*time.Second)
	wf := workflow(t, 1)
	e.submit(t, wf)
	first := <-h.first
	carried, err := e.store.Carried(context.Background(), wf.ID, "net")
	if err != nil || slices.Contains(carried, task) != (task == "web") {
		t.Fatalf("tasks carried by net's message: %v %v", carried, err)
	}
	dying.Close()
	e.run(t, h.Provider, 2*time.Second)
	w := e.waitStatus(t, wf.ID, provisioning.StatusSucceeded)
	hung := w.Task(task)
	if hung.Attempt != 1 || hung.Resource.Attrs["pid"] != first.Attrs["pid"] || hung.Resource.Attrs["port"] != first.Attrs["port"] {
		t.Fatalf("%s after redelivery: attempt %d %+v, first create made %+v", task, hung.Attempt, *hung.Resource, first)
	}
	servers, _ := os.ReadDir(filepath.Join(e.dir, "servers"))
	if len(servers) != 2 {
		t.Fatalf("servers made: %v", servers)
	}
	steps, _ := e.store.Steps(context.Background(), wf.ID)
	n := 0
	for _, s := range steps {
		if s.Task == task {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d checkpoints of %s's step", n, task)
	}
	for _, t := range w.Tasks {
		_ = h.Provider.Delete(context.Background(), *t.Resource)
	}
}
