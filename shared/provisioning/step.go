package provisioning

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// step runs one attempt of a ready task. The attempt is claimed and its
// checkpoint written (in the transaction that reads the task) before the
// provider is called; a redelivery after a crash finds the task Running at
// that attempt and calls the provider again with the same key, which
// returns what the first call made.
func (o *Orchestrator) step(ctx context.Context, e events.TaskEvent) error {
	w, claimed, err := o.store.ClaimStep(ctx, e.WorkflowID, e.TaskID, e.Run)
	if errors.Is(err, ErrNotFound) {
		return bus.Permanent(err)
	}
	if err != nil || w.Run != e.Run {
		return err
	}
	t := w.Task(e.TaskID)
	switch {
	case t == nil:
		return bus.Permanent(fmt.Errorf("workflow %s has no task %q", w.ID, e.TaskID))
	case claimed, t.State == TaskRunning: // a workflow stopping lets a started attempt finish
		return o.attempt(ctx, w, *t, t.Attempt, t.Task)
	case t.State == TaskPending:
		return nil
	case !inFlight(t.State):
		// A step delivered again after its task ended: the end may have
		// queued dependents and died before publishing them, or claimed
		// one and died running it; each task it carried gets a ready
		// message, and schedule publishes every Queued task again
		// (duplicates are dropped).
		carried, err := o.store.Carried(ctx, w.ID, t.Task)
		if err != nil {
			return err
		}
		if err := o.publishReady(ctx, w.ID, carried, w.Run); err != nil {
			return err
		}
		return o.schedule(ctx, w.ID, w.Run)
	case w.Status != StatusRunning: // stopping: what has not started does not start
		if _, err := o.store.SetTaskState(ctx, w.ID, t.Task, []string{TaskQueued, TaskRetrying}, TaskSkipped, t.Resource, ""); err != nil {
			return err
		}
		return o.publishTask(ctx, events.SubjectTaskDone, w.ID, t.Task, w.Run)
	case t.State == TaskRetrying && t.NextAttemptAt != nil:
		return bus.RetryAfter(max(t.NextAttemptAt.Sub(o.now()), 50*time.Millisecond), errors.New("attempt not due yet"))
	}
	return bus.RetryAfter(time.Second, fmt.Errorf("task %s/%s changed meanwhile", w.ID, t.Task))
}

// StepKey is the key a task's resource is created under: the same for
// every attempt and redelivery of one run, so a provider returns what an
// earlier attempt made, and new for a resumed run, whose tasks were rolled
// back (an EC2 client token stays bound to a terminated instance).
func StepKey(workflow, task string, run int) string {
	return fmt.Sprintf("%s/%s/%d", workflow, task, run)
}

// attempt runs attempt n of task t, whose attempt the delivery of via's
// ready message claimed (t itself, or a task claimed on the way, see
// succeeded), and records its outcome. A task carried by another's message
// that cannot record its outcome gets a ready message of its own instead
// of failing via's delivery: redeliveries of via would spend via's
// MaxDeliver on a later link, and a dead-lettered via would leave the task
// Running with no message (its own message finds it Running and runs the
// attempt again under the same key).
func (o *Orchestrator) attempt(ctx context.Context, w WorkflowState, t TaskState, n int, via string) error {
	err := o.runAttempt(ctx, w, t, n, via)
	if err == nil || t.Task == via {
		return err
	}
	if perr := o.publishTask(ctx, events.SubjectTaskReady, w.ID, t.Task, w.Run); perr != nil {
		return errors.Join(err, perr)
	}
	obs.Log(ctx).Warn("a carried task's outcome was not recorded; it has a message of its own now",
		"workflow", w.ID, "task", t.Task, "via", via, "err", err)
	return nil
}

func (o *Orchestrator) runAttempt(ctx context.Context, w WorkflowState, t TaskState, n int, via string) error {
	pt := t.Prepared()
	deps := map[string]Resource{}
	for _, d := range pt.DependsOn {
		if dt := w.Task(d); dt != nil && dt.Resource != nil {
			deps[d] = *dt.Resource
		}
	}
	log := obs.Log(ctx).With("workflow", w.ID, "task", t.Task, "attempt", n)
	var res Resource
	err := fmt.Errorf("provider %s is not configured here", t.Provider)
	if p, ok := o.providers[t.Provider]; ok {
		sctx, cancel := context.WithTimeout(ctx, pt.Timeout)
		res, err = p.Create(sctx, StepKey(w.ID, t.Task, w.Run), pt, deps)
		cancel()
	} else {
		err = Permanent(err)
	}
	switch {
	case err == nil:
		log.Info("task succeeded", "resource", res.ID)
		return o.succeeded(ctx, w, t.Task, n, &res, via)
	case IsPermanent(err) || n >= pt.Retry.MaxAttempts:
		log.Warn("task failed", "err", err, "permanent", IsPermanent(err))
		err = o.store.EndAttempt(ctx, w.ID, t.Task, n, w.Run, TaskFailed, nil, err.Error(), time.Time{})
	default:
		delay := Backoff(pt.Retry, n, o.jitter())
		log.Info("task attempt failed; retrying", "err", err, "delay", delay.String())
		if serr := o.store.EndAttempt(ctx, w.ID, t.Task, n, w.Run, TaskRetrying, nil, err.Error(), o.now().Add(delay)); serr != nil && !errors.Is(serr, ErrStale) {
			return serr
		}
		if t.Task != via { // no message of its own to redeliver later: one that waits until the attempt is due
			return o.publishTask(ctx, events.SubjectTaskReady, w.ID, t.Task, w.Run)
		}
		return bus.RetryAfter(delay, err)
	}
	if err != nil && !errors.Is(err, ErrStale) {
		return err
	}
	return o.publishTask(ctx, events.SubjectTaskDone, w.ID, t.Task, w.Run)
}

// succeeded ends attempt n of task with res, queueing in the same
// transaction what that made ready and claiming the first of those (Claim)
// when the invocation has time left for it. The others are published;
// the claimed one runs next, here, without a message: the step goes on
// from the completion without a hop through JetStream and another
// instance's claim. It stays durable: via's message is acknowledged only
// when this chain ends, and if it comes again, step publishes a ready
// message for each task it carried (Store.Carried).
func (o *Orchestrator) succeeded(ctx context.Context, w WorkflowState, task string, n int, res *Resource, via string) error {
	claim := Claim{Via: via}
	if dl, ok := ctx.Deadline(); ok {
		claim.Within = time.Until(dl) - chainMargin
		if claim.Within <= 0 {
			claim = Claim{}
		}
	}
	f, err := o.store.Succeed(ctx, w.ID, task, n, w.Run, res, claim)
	if errors.Is(err, ErrStale) {
		return o.publishTask(ctx, events.SubjectTaskDone, w.ID, task, w.Run)
	}
	if err != nil {
		return err
	}
	if err := o.publishReady(ctx, w.ID, f.Queued, w.Run); err != nil {
		return err
	}
	if !f.Settled(w.Run) || f.Dependents == 0 { // otherwise no done message (see Store.Succeed)
		if err := o.publishTask(ctx, events.SubjectTaskDone, w.ID, task, w.Run); err != nil {
			return err
		}
	}
	if len(f.Claimed) == 0 {
		return nil
	}
	next := f.Claimed[0]
	return o.attempt(ctx, WorkflowState{ID: w.ID, Run: w.Run, Status: f.Status, Tasks: f.Claimed}, next, next.Attempt, via)
}

// chainMargin is the time an invocation keeps, beyond a claimed task's
// timeout, to record its outcome.
const chainMargin = 30 * time.Second

// publishReady publishes a task ready message for each task, at once.
func (o *Orchestrator) publishReady(ctx context.Context, wf string, tasks []string, run int) error {
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Go(func() { errs[i] = o.publishTask(ctx, events.SubjectTaskReady, wf, t, run) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// rollback deletes, in reverse topological order, what the workflow's
// tasks made, once no step is in flight. A task whose delete fails keeps its
// resource and is named in the workflow's left.
func (o *Orchestrator) rollback(ctx context.Context, id string, run int) error {
	w, ok, err := o.load(ctx, id, run)
	if err != nil || !ok || (w.Status != StatusRollingBack && w.Status != StatusCancelling) {
		return err
	}
	for _, t := range w.Tasks {
		if inFlight(t.State) {
			return bus.RetryAfter(time.Second, fmt.Errorf("task %s is still %s", t.Task, t.State))
		}
	}
	var left []string
	for i := len(w.Order) - 1; i >= 0; i-- {
		t := w.Task(w.Order[i])
		if t == nil || t.Resource == nil || t.State == TaskRolledBack {
			continue
		}
		if err := o.store.Checkpoint(ctx, w.ID, t.Task, w.Run, t.Resource); err != nil {
			return err
		}
		var derr error
		if p, ok := o.providers[t.Resource.Provider]; !ok {
			derr = fmt.Errorf("provider %s is not configured here", t.Resource.Provider)
		} else {
			derr = p.Delete(ctx, *t.Resource)
		}
		from := []string{TaskSucceeded, TaskFailed, TaskSkipped, TaskRollbackFailed}
		if derr != nil {
			obs.Log(ctx).Warn("rollback of task failed", "workflow", w.ID, "task", t.Task, "err", derr)
			left = append(left, t.Task+": "+t.Resource.ID)
			_, err = o.store.SetTaskState(ctx, w.ID, t.Task, from, TaskRollbackFailed, t.Resource, "rollback: "+derr.Error())
		} else {
			_, err = o.store.SetTaskState(ctx, w.ID, t.Task, from, TaskRolledBack, nil, "")
		}
		if err != nil {
			return err
		}
	}
	status := StatusRolledBack
	if len(left) > 0 {
		status = StatusRollbackFailed
	}
	if err := o.store.Finish(ctx, w.ID, status, left); err != nil {
		return err
	}
	return o.announce(ctx, w.ID, w.Run, status, deref(w.Error))
}
