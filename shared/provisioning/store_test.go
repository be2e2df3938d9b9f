package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// surrealURL is set by TestMain (orchestrator_test.go, through SurrealURLForTest).
var surrealURL string

// SurrealURLForTest lets the external tests' TestMain start SurrealDB for both.
var SurrealURLForTest = &surrealURL

var seq atomic.Int64

func newStore(t *testing.T) *Store {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: "provisioning"}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/provisioning"); err != nil {
		t.Fatal(err)
	}
	return NewStore(db)
}

func prepared(t *testing.T) *Prepared {
	t.Helper()
	w := fiveTasks()
	w.ID = fmt.Sprintf("wf-%d-%d", time.Now().UnixNano(), seq.Add(1))
	w.Scope = "acme"
	p, err := Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStoreCreateIsIdempotent(t *testing.T) {
	s, p, ctx := newStore(t), prepared(t), context.Background()
	var wg sync.WaitGroup
	created := make([]bool, 4)
	for i := range created {
		wg.Go(func() {
			_, c, err := s.Create(ctx, p)
			if err != nil {
				t.Error(err)
			}
			created[i] = c
		})
	}
	wg.Wait()
	n := 0
	for _, c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d creates reported new", n)
	}
	w, err := s.Get(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != StatusPending || len(w.Tasks) != 5 || w.Tasks[4].Task != "app" || w.Tasks[1].Spec["cpu"] == nil {
		t.Fatalf("stored %+v", w)
	}
}

func TestStoreAdvanceAndClaimAreConditional(t *testing.T) {
	s, p, ctx := newStore(t), prepared(t), context.Background()
	if _, _, err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"net"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, p.ID, 0, StatusRunning, "", []string{"web"}); err != ErrStale {
		t.Fatalf("second advance from version 0: %v", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ok, err := s.ClaimAttempt(ctx, p.ID, "net", TaskQueued, 1, 1)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
	res := &Resource{ID: "r1", Kind: "network", Provider: "local", Attrs: map[string]string{"ports": "1-2"}}
	if err := s.EndAttempt(ctx, p.ID, "net", 1, 1, TaskRetrying, nil, "boom", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.EndAttempt(ctx, p.ID, "net", 1, 1, TaskSucceeded, res, "", time.Time{}); err != ErrStale {
		t.Fatalf("ending an attempt twice: %v", err)
	}
	if ok, err := s.ClaimAttempt(ctx, p.ID, "net", TaskRetrying, 2, 1); err != nil || !ok {
		t.Fatalf("claim 2: %v %v", ok, err)
	}
	if err := s.EndAttempt(ctx, p.ID, "net", 2, 1, TaskSucceeded, res, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.Get(ctx, p.ID)
	net := w.Task("net")
	if net.State != TaskSucceeded || net.Attempt != 2 || net.Resource == nil || net.Resource.Attrs["ports"] != "1-2" ||
		net.Error != nil || net.FinishedAt == nil {
		t.Fatalf("net %+v", net)
	}
	steps, err := s.Steps(ctx, p.ID)
	if err != nil || len(steps) != 2 || steps[0].State != "failed" || *steps[0].Error != "boom" || steps[1].State != "succeeded" {
		t.Fatalf("steps %+v %v", steps, err)
	}
	if ok, _ := s.Cancel(ctx, p.ID); !ok {
		t.Fatal("cancel refused")
	}
	if _, ok, _ := s.Resume(ctx, p.ID); ok {
		t.Fatal("resumed a cancelling workflow")
	}
	if err := s.Finish(ctx, p.ID, StatusRolledBack, nil); err != nil {
		t.Fatal(err)
	}
	run, ok, err := s.Resume(ctx, p.ID)
	if err != nil || !ok || run != 2 {
		t.Fatalf("resume: %d %v %v", run, ok, err)
	}
	w, _ = s.Get(ctx, p.ID)
	if w.Status != StatusRunning || w.Task("net").State != TaskSucceeded || w.Task("web").State != TaskPending {
		t.Fatalf("after resume %+v", w)
	}
	list, err := s.List(ctx, []string{"acme"}, StatusRunning, 500)
	if err != nil || len(list) == 0 || list[0].Scope != "acme" {
		t.Fatalf("list %v %v", list, err)
	}
	if list, err := s.List(ctx, []string{"globex"}, StatusRunning, 500); err != nil || len(list) != 0 {
		t.Fatalf("list of another scope: %v %v", list, err)
	}
}
