package provisioning

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// wide is a workflow of n independent tasks then one joining them all.
func wide(t *testing.T, n, parallel int) *Prepared {
	t.Helper()
	w := Workflow{ID: fmt.Sprintf("wide-%d-%d", time.Now().UnixNano(), seq.Add(1)), Scope: "acme", Name: "wide",
		Environment: "development", MaxParallel: parallel, Defaults: Defaults{Provider: "local"}}
	var all []string
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		all = append(all, id)
		w.Tasks = append(w.Tasks, Task{ID: id, Kind: KindNetwork})
	}
	w.Tasks = append(w.Tasks, Task{ID: "join", Kind: KindNetwork, DependsOn: all})
	p, err := Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStoreFillKeepsMaxParallelUnderConcurrentFills(t *testing.T) {
	s, p, ctx := newStore(t), wide(t, 8, 3), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || len(f.Queued) != 0 || f.Settled(1) {
		t.Fatalf("fill of a pending workflow: %+v %v", f, err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queued []string
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			f, err := s.Fill(ctx, p.ID, 1, "")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			queued = append(queued, f.Queued...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(queued)
	if !slices.Equal(queued, []string{"t0", "t1", "t2"}) {
		t.Fatalf("concurrent fills queued %v, want t0..t2 once each", queued)
	}
	if f, err := s.Fill(ctx, p.ID, 2, ""); err != nil || len(f.Queued) != 0 || f.Settled(2) {
		t.Fatalf("fill for another run: %+v %v", f, err)
	}
	if _, err := s.Fill(ctx, "no-such-workflow", 1, ""); err != ErrNotFound {
		t.Fatalf("fill of a missing workflow: %v", err)
	}
}

func TestStoreFillQueuesOnlyTasksWhoseDependenciesSucceeded(t *testing.T) {
	s, p, ctx := newStore(t), wide(t, 2, 4), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", nil); err != nil {
		t.Fatal(err)
	}
	succeed := func(task string) {
		if ok, err := s.ClaimAttempt(ctx, p.ID, task, TaskQueued, 1, 1); err != nil || !ok {
			t.Fatalf("claim %s: %v %v", task, ok, err)
		}
		if err := s.EndAttempt(ctx, p.ID, task, 1, 1, TaskSucceeded, &Resource{ID: task}, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || names(f.Queued) != "[t0 t1]" || !f.Settled(1) || f.Busy != 2 {
		t.Fatalf("first fill %+v %v", f, err)
	}
	succeed("t0")
	if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || len(f.Queued) != 0 || f.Succeeded != 1 || f.Busy != 1 {
		t.Fatalf("fill with one dependency left %+v %v", f, err)
	}
	succeed("t1")
	if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || names(f.Queued) != "[join]" {
		t.Fatalf("fill after the last dependency %+v %v", f, err)
	}
	succeed("join")
	if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || f.Settled(1) || f.Succeeded != 3 || f.Total != 3 {
		t.Fatalf("fill of a finished workflow %+v %v", f, err)
	}
}

func names(s []string) string { return fmt.Sprint(s) }

func TestStoreClaimStepReadsTheTaskAndItsDependencies(t *testing.T) {
	s, p, ctx := newStore(t), prepared(t), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	w, claimed, err := s.ClaimStep(ctx, p.ID, "app", 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range w.Tasks {
		got = append(got, tk.Task)
	}
	slices.Sort(got)
	if claimed || w.ID != p.ID || w.Status != StatusPending || w.Run != 1 || names(got) != "[app data web]" ||
		w.Task("app").Spec["server"] != "web" || w.Task("app").State != TaskPending {
		t.Fatalf("step view %+v (claimed %v)", w, claimed)
	}
	if w, _, err := s.ClaimStep(ctx, p.ID, "nope", 1); err != nil || len(w.Tasks) != 0 {
		t.Fatalf("step view of a missing task: %+v %v", w, err)
	}
	if _, _, err := s.ClaimStep(ctx, "no-such", "app", 1); err != ErrNotFound {
		t.Fatalf("step view of a missing workflow: %v", err)
	}
}

// TestStoreClaimStepClaimsOnceWhatIsDue: concurrent claims of a Queued
// task start its attempt once, with its checkpoint; a Retrying task is
// claimed only once its next attempt is due, and never for another run.
func TestStoreClaimStepClaimsOnceWhatIsDue(t *testing.T) {
	s, p, ctx := newStore(t), wide(t, 1, 2), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"t0"}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := s.ClaimStep(ctx, p.ID, "t0", 2); err != nil || claimed {
		t.Fatalf("claim for another run: %v %v", claimed, err)
	}
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			w, claimed, err := s.ClaimStep(ctx, p.ID, "t0", 1)
			if err != nil || w.Task("t0").State != TaskRunning || w.Task("t0").Attempt != 1 {
				t.Errorf("claim: %+v %v", w.Task("t0"), err)
			}
			mu.Lock()
			wins += map[bool]int{true: 1}[claimed]
			mu.Unlock()
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
	if err := s.EndAttempt(ctx, p.ID, "t0", 1, 1, TaskRetrying, nil, "boom", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if w, claimed, err := s.ClaimStep(ctx, p.ID, "t0", 1); err != nil || claimed || w.Task("t0").State != TaskRetrying {
		t.Fatalf("claim before the next attempt is due: %v %v", claimed, err)
	}
	if _, err := surreal.Query[any](ctx, s.db, "UPDATE $t SET next_attempt_at = time::now() - 1s", map[string]any{"t": taskID(p.ID, "t0")}); err != nil {
		t.Fatal(err)
	}
	w, claimed, err := s.ClaimStep(ctx, p.ID, "t0", 1)
	if err != nil || !claimed || w.Task("t0").Attempt != 2 || w.Task("t0").NextAttemptAt != nil {
		t.Fatalf("claim of a due retry: %+v %v %v", w.Task("t0"), claimed, err)
	}
	steps, err := s.Steps(ctx, p.ID)
	if err != nil || len(steps) != 2 || steps[0].Attempt != 1 || steps[1].Attempt != 2 || steps[1].State != "started" || steps[1].Run != 1 {
		t.Fatalf("checkpoints %+v %v", steps, err)
	}
}

// TestStoreSucceedQueuesDependentsInTheSameTransaction: the completion of
// an attempt fills after it; a completion that is not the running attempt
// changes nothing.
func TestStoreSucceedQueuesDependentsInTheSameTransaction(t *testing.T) {
	s, p, ctx := newStore(t), wide(t, 2, 4), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"t0", "t1"}); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{"t0", "t1"} {
		if _, claimed, err := s.ClaimStep(ctx, p.ID, task, 1); err != nil || !claimed {
			t.Fatalf("claim %s: %v %v", task, claimed, err)
		}
	}
	if f, err := s.Succeed(ctx, p.ID, "t0", 1, 1, &Resource{ID: "r0"}, Claim{}); err != nil || len(f.Queued) != 0 || !f.Settled(1) || f.Succeeded != 1 {
		t.Fatalf("first completion %+v %v", f, err)
	}
	if _, err := s.Succeed(ctx, p.ID, "t0", 1, 1, &Resource{ID: "r0"}, Claim{}); err != ErrStale {
		t.Fatalf("the same completion again: %v", err)
	}
	f, err := s.Succeed(ctx, p.ID, "t1", 1, 1, &Resource{ID: "r1"}, Claim{})
	if err != nil || names(f.Queued) != "[join]" || f.Busy != 1 || len(f.Claimed) != 0 {
		t.Fatalf("last dependency %+v %v", f, err)
	}
	w, err := s.Get(ctx, p.ID)
	if err != nil || w.Task("t1").State != TaskSucceeded || w.Task("t1").Resource.ID != "r1" || w.Task("join").State != TaskQueued {
		t.Fatalf("stored %+v %v", w.Tasks, err)
	}
}

// TestStoreSucceedClaimsOneQueuedTask: a completion asked to claim starts
// the first task it queued, in its transaction: Running at attempt 1 with
// its checkpoint, read back with its dependencies (the completed one with
// the resource it just recorded), marked as carried by the message the
// caller handles; the others stay Queued. Another delivery's claim of it
// finds it Running. A task whose timeout does not fit the time left is
// not claimed.
func TestStoreSucceedClaimsOneQueuedTask(t *testing.T) {
	s, ctx := newStore(t), context.Background()
	w := Workflow{ID: fmt.Sprintf("claim-%d-%d", time.Now().UnixNano(), seq.Add(1)), Name: "claim", Environment: "development",
		MaxParallel: 4, Defaults: Defaults{Provider: "local"}, Tasks: []Task{{ID: "a", Kind: KindNetwork},
			{ID: "b", Kind: KindNetwork, DependsOn: []string{"a"}, Timeout: "30s"},
			{ID: "c", Kind: KindNetwork, DependsOn: []string{"a"}, Timeout: "30s"}, {ID: "d", Kind: KindNetwork, DependsOn: []string{"b", "c"}}}}
	p, err := Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := s.ClaimStep(ctx, p.ID, "a", 1); err != nil || !claimed {
		t.Fatalf("claim a: %v %v", claimed, err)
	}
	f, err := s.Succeed(ctx, p.ID, "a", 1, 1, &Resource{ID: "ra"}, Claim{Via: "a", Within: time.Minute})
	if err != nil || names(f.Queued) != "[c]" || len(f.Claimed) != 2 || !f.Settled(1) || f.Busy != 2 {
		t.Fatalf("completion of a %+v %v", f, err)
	}
	b, dep := f.Claimed[0], f.Claimed[1]
	if b.Task != "b" || b.State != TaskRunning || b.Attempt != 1 || b.StartedAt == nil || dep.Task != "a" || dep.Resource == nil ||
		dep.Resource.ID != "ra" || dep.FinishedAt == nil || b.StartedAt.Before(*dep.FinishedAt) {
		t.Fatalf("claimed %+v after %+v", b, dep)
	}
	if carried, err := s.Carried(ctx, p.ID, "a"); err != nil || names(carried) != "[b]" {
		t.Fatalf("carried by a: %v %v", carried, err)
	}
	if w, claimed, err := s.ClaimStep(ctx, p.ID, "b", 1); err != nil || claimed || w.Task("b").State != TaskRunning || w.Task("b").Attempt != 1 {
		t.Fatalf("another claim of b: %v %v", claimed, err)
	}
	if _, claimed, err := s.ClaimStep(ctx, p.ID, "c", 1); err != nil || !claimed {
		t.Fatalf("claim c: %v %v", claimed, err)
	}
	if f, err := s.Succeed(ctx, p.ID, "b", 1, 1, &Resource{ID: "rb"}, Claim{Via: "a", Within: time.Minute}); err != nil || len(f.Queued) != 0 || len(f.Claimed) != 0 {
		t.Fatalf("completion of b %+v %v", f, err)
	}
	f, err = s.Succeed(ctx, p.ID, "c", 1, 1, &Resource{ID: "rc"}, Claim{Via: "c", Within: time.Minute})
	if err != nil || names(f.Queued) != "[d]" || len(f.Claimed) != 0 {
		t.Fatalf("completion of c, d's timeout longer than the time left: %+v %v", f, err)
	}
	if carried, err := s.Carried(ctx, p.ID, "a"); err != nil || len(carried) != 0 {
		t.Fatalf("carried by a once b ended: %v %v", carried, err)
	}
	steps, err := s.Steps(ctx, p.ID)
	if err != nil || len(steps) != 3 || steps[1].Task != "b" || steps[1].State != "succeeded" {
		t.Fatalf("checkpoints %+v %v", steps, err)
	}
}

// TestStoreSucceedClaimsOnlyWithRoomForEveryReadyTask: the claim takes
// one of the tasks the fill would queue, so under max_parallel 2, with b
// still running, a's completion (x and y ready, room for one) claims
// nothing: it queues x by position and passes y over, as without a claim;
// under max_parallel 3 it claims x and queues y.
func TestStoreSucceedClaimsOnlyWithRoomForEveryReadyTask(t *testing.T) {
	for _, c := range []struct {
		parallel        int
		claimed, queued string
	}{{2, "", "[x]"}, {3, "x", "[y]"}} {
		s, ctx := newStore(t), context.Background()
		w := Workflow{ID: fmt.Sprintf("room-%d-%d", time.Now().UnixNano(), seq.Add(1)), Name: "room", Environment: "development",
			MaxParallel: c.parallel, Defaults: Defaults{Provider: "local"}, Tasks: []Task{{ID: "a", Kind: KindNetwork}, {ID: "b", Kind: KindNetwork},
				{ID: "x", Kind: KindNetwork, DependsOn: []string{"a"}}, {ID: "y", Kind: KindNetwork, DependsOn: []string{"a"}}}}
		p, err := Prepare(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		for _, task := range []string{"a", "b"} {
			if _, claimed, err := s.ClaimStep(ctx, p.ID, task, 1); err != nil || !claimed {
				t.Fatalf("claim %s: %v %v", task, claimed, err)
			}
		}
		f, err := s.Succeed(ctx, p.ID, "a", 1, 1, &Resource{ID: "ra"}, Claim{Via: "a"})
		claimed := ""
		if len(f.Claimed) > 0 {
			claimed = f.Claimed[0].Task
		}
		if err != nil || claimed != c.claimed || names(f.Queued) != c.queued || f.Busy != c.parallel {
			t.Fatalf("max_parallel %d: completion of a %+v %v", c.parallel, f, err)
		}
		if c.claimed == "" { // y was passed over: the next fill queues it although it does not depend on b
			if err := s.EndAttempt(ctx, p.ID, "b", 1, 1, TaskSucceeded, &Resource{ID: "rb"}, "", time.Time{}); err != nil {
				t.Fatal(err)
			}
			if f, err := s.Fill(ctx, p.ID, 1, "b"); err != nil || names(f.Queued) != "[y]" {
				t.Fatalf("fill after b %+v %v", f, err)
			}
		}
	}
}

// TestStoreFillBoundsConcurrentCompletionsAndQueuesWhatItPassedOver: with
// max_parallel 2, x and y finish together and their fills race; y made a1
// and a2 ready, x made p ready: two of the three are queued, never three,
// and the one passed over is queued by the next completion's fill although
// it does not depend on that task.
func TestStoreFillBoundsConcurrentCompletionsAndQueuesWhatItPassedOver(t *testing.T) {
	s, ctx := newStore(t), context.Background()
	for range 4 {
		w := Workflow{ID: fmt.Sprintf("race-%d-%d", time.Now().UnixNano(), seq.Add(1)), Scope: "acme", Name: "race",
			Environment: "development", MaxParallel: 2, Defaults: Defaults{Provider: "local"}, Tasks: []Task{
				{ID: "x", Kind: KindNetwork}, {ID: "y", Kind: KindNetwork},
				{ID: "a1", Kind: KindNetwork, DependsOn: []string{"y"}}, {ID: "a2", Kind: KindNetwork, DependsOn: []string{"y"}},
				{ID: "p", Kind: KindNetwork, DependsOn: []string{"x"}}}}
		p, err := Prepare(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", nil); err != nil {
			t.Fatal(err)
		}
		if f, err := s.Fill(ctx, p.ID, 1, ""); err != nil || names(f.Queued) != "[x y]" {
			t.Fatalf("roots %+v %v", f, err)
		}
		succeed := func(task string) {
			if ok, err := s.ClaimAttempt(ctx, p.ID, task, TaskQueued, 1, 1); err != nil || !ok {
				t.Fatalf("claim %s: %v %v", task, ok, err)
			}
			if err := s.EndAttempt(ctx, p.ID, task, 1, 1, TaskSucceeded, &Resource{ID: task}, "", time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		succeed("x")
		succeed("y")
		var mu sync.Mutex
		var queued []string
		var wg sync.WaitGroup
		for _, after := range []string{"x", "y", "x", "y"} {
			wg.Go(func() {
				f, err := s.Fill(ctx, p.ID, 1, after)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				queued = append(queued, f.Queued...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(queued)
		if names(queued) != "[a1 a2]" {
			t.Fatalf("concurrent fills queued %v, want a1 and a2 once each (the first by position)", queued)
		}
		succeed("a1")
		if f, err := s.Fill(ctx, p.ID, 1, "a1"); err != nil || names(f.Queued) != "[p]" || f.Busy != 2 {
			t.Fatalf("fill after a1 %+v %v, want the passed-over p", f, err)
		}
	}
}
