package provisioning

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Publisher sends an event once per message id (the bus, in production).
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, v any, headers map[string]string) (bool, error)
}

// Orchestrator advances workflows one step per message. It keeps nothing in
// memory between messages: every decision is read from the store and every
// change is a conditional write, so any instance may take any message and
// any of them may die at any point.
type Orchestrator struct {
	store     *Store
	pub       Publisher
	providers Providers
	now       func() time.Time
	jitter    func() float64 // in [0, 1)
}

// NewOrchestrator runs workflows over store with the given providers.
func NewOrchestrator(store *Store, pub Publisher, providers Providers) *Orchestrator {
	return &Orchestrator{store: store, pub: pub, providers: providers, now: time.Now, jitter: rand.Float64}
}

// Backoff is the wait after failed attempt n: 2^n × base_delay plus up to
// 20 % jitter, at most max_delay.
func Backoff(p RetryPolicy, n int, jitter float64) time.Duration {
	d := p.BaseDelay
	for i := 0; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d += time.Duration(float64(d) * 0.2 * jitter)
	return min(d, p.MaxDelay)
}

// Handler is the orchestrator's consumer: it takes every subject of the
// provisioning-orchestrator function.
func (o *Orchestrator) Handler() bus.Handler {
	onWorkflow := bus.Typed(func(ctx context.Context, d bus.Delivery, e events.WorkflowEvent) error {
		if d.Subject == events.SubjectWorkflowRollback {
			return o.rollback(ctx, e.WorkflowID, e.Run)
		}
		return o.schedule(ctx, e.WorkflowID, e.Run)
	})
	onTask := bus.Typed(func(ctx context.Context, d bus.Delivery, e events.TaskEvent) error {
		if d.Subject == events.SubjectTaskReady {
			return o.step(ctx, e)
		}
		return o.taskDone(ctx, e.WorkflowID, e.TaskID, e.Run, d.Attempt > 1)
	})
	return func(ctx context.Context, d bus.Delivery) error {
		if strings.HasPrefix(d.Subject, "provisioning.tasks.") {
			return onTask(ctx, d)
		}
		return onWorkflow(ctx, d)
	}
}

// load reads a workflow for a message of run; ok is false for a message of
// an earlier run (a resumed workflow ignores its old steps).
func (o *Orchestrator) load(ctx context.Context, id string, run int) (WorkflowState, bool, error) {
	w, err := o.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return w, false, bus.Permanent(err)
	}
	if err != nil {
		return w, false, err
	}
	return w, w.Run == run, nil
}

// taskDone follows a finished step that sent a done message: one that
// failed or was skipped, or succeeded with no dependents or with the
// workflow to change status (a success otherwise queues its dependents in
// the transaction that ends it, Store.Succeed, and sends none). The common case, a Running workflow
// with tasks left and none failed, is decided in one transaction of the
// store (Fill) that queues what became ready, so concurrent completions do
// not reload the whole workflow nor conflict on its version; anything else
// (the workflow must change status, or the message is of another run) is
// decided on the whole workflow by schedule.
func (o *Orchestrator) taskDone(ctx context.Context, id, task string, run int, redelivered bool) error {
	f, err := o.store.Fill(ctx, id, run, task)
	if errors.Is(err, ErrNotFound) {
		return bus.Permanent(err)
	}
	if err != nil {
		return err
	}
	if f.Run != run {
		return nil
	}
	if !f.Settled(run) {
		return o.schedule(ctx, id, run)
	}
	if redelivered { // an earlier delivery may have queued and died before publishing: publish all Queued again
		return o.schedule(ctx, id, run)
	}
	for _, t := range f.Queued {
		if err := o.publishTask(ctx, events.SubjectTaskReady, id, t, run); err != nil {
			return err
		}
	}
	return nil
}

// schedule decides what the workflow does next and commits it against the
// version it read; a concurrent decision makes it read again.
func (o *Orchestrator) schedule(ctx context.Context, id string, run int) error {
	for range 50 {
		w, ok, err := o.load(ctx, id, run)
		if err != nil || !ok {
			return err
		}
		err = o.advance(ctx, w)
		if !errors.Is(err, ErrStale) {
			return err
		}
	}
	return fmt.Errorf("workflow %s kept changing while scheduling", id)
}

func (o *Orchestrator) advance(ctx context.Context, w WorkflowState) error {
	status, cause := w.Status, ""
	if status == StatusPending {
		status = StatusRunning
	}
	busy, done := 0, 0
	for _, t := range w.Tasks {
		if inFlight(t.State) {
			busy++
		}
		if t.State == TaskSucceeded {
			done++
		}
		if t.State == TaskFailed && status == StatusRunning {
			status, cause = StatusRollingBack, fmt.Sprintf("task %s failed after %d attempts: %s", t.Task, t.Attempt, deref(t.Error))
		}
	}
	if status == StatusRunning && done == len(w.Tasks) {
		status = StatusSucceeded
	}
	if status != w.Status {
		if err := o.store.Advance(ctx, w.ID, w.Version, status, cause, nil); err != nil {
			return err
		}
		obs.Log(ctx).Info("workflow status", "workflow", w.ID, "from", w.Status, "to", status, "cause", cause)
		if err := o.announce(ctx, w.ID, w.Run, status, cause); err != nil {
			return err
		}
	}
	var queue []string
	if status == StatusRunning { // what is ready is queued by the store's fill, as after each step
		f, err := o.store.Fill(ctx, w.ID, w.Run, "")
		if err != nil {
			return err
		}
		queue = f.Queued
	}
	for _, t := range w.Tasks { // publish again what a crash may have left unpublished; duplicates are dropped
		if t.State == TaskQueued {
			queue = append(queue, t.Task)
		}
	}
	for _, t := range queue {
		if err := o.publishTask(ctx, events.SubjectTaskReady, w.ID, t, w.Run); err != nil {
			return err
		}
	}
	if (status == StatusRollingBack || status == StatusCancelling) && busy == 0 {
		_, err := o.pub.Publish(ctx, events.SubjectWorkflowRollback, fmt.Sprintf("%s:rollback:%d", w.ID, w.Run),
			events.WorkflowEvent{ID: fmt.Sprintf("%s:rollback:%d", w.ID, w.Run), WorkflowID: w.ID, Run: w.Run, Status: status}, nil)
		return err
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (o *Orchestrator) publishTask(ctx context.Context, subject, wf, task string, run int) error {
	kind := subject[strings.LastIndex(subject, ".")+1:]
	id := fmt.Sprintf("%s:%s:%s:%d", wf, task, kind, run)
	_, err := o.pub.Publish(ctx, subject, id, events.TaskEvent{ID: id, WorkflowID: wf, TaskID: task, Run: run}, nil)
	return err
}

// announce publishes a status a workflow reached.
func (o *Orchestrator) announce(ctx context.Context, wf string, run int, status, cause string) error {
	id := fmt.Sprintf("%s:%s:%d", wf, strings.ToLower(status), run)
	_, err := o.pub.Publish(ctx, events.SubjectWorkflowStatusPrefix+strings.ToLower(status), id,
		events.WorkflowEvent{ID: id, WorkflowID: wf, Run: run, Status: status, Error: cause}, nil)
	return err
}
