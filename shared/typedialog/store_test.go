package typedialog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

func newStore(t testing.TB) *Store {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("typedialog_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(context.Background(), db, schemas.Surreal, "surreal/typedialog"); err != nil {
		t.Fatal(err)
	}
	return NewStore(db)
}

func TestStoreFormsAndSessions(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	f, err := s.CreateForm(ctx, formRow{FormID: "f", Version: "1", Title: "T", Definition: "x", CreatedBy: "me"})
	if err != nil || f.ID != "f@1" {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := s.CreateForm(ctx, formRow{FormID: "f", Version: "1", Definition: "y"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second register: %v", err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := s.CreateForm(ctx, formRow{FormID: "f", Version: "2", Definition: "z"}); err != nil {
		t.Fatal(err)
	}
	if latest, err := s.Form(ctx, "f", ""); err != nil || latest.Version != "2" {
		t.Fatalf("latest %+v %v", latest, err)
	}
	if list, err := s.Forms(ctx, 10); err != nil || len(list) != 1 || list[0].Version != "2" {
		t.Fatalf("list %+v %v", list, err)
	}
	if _, err := s.Form(ctx, "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing form: %v", err)
	}
	sess, err := s.CreateSession(ctx, "s1", "f", "2", "me", map[string]any{"a": "1"})
	if err != nil || sess.Status != "open" {
		t.Fatalf("%+v %v", sess, err)
	}
	// Concurrent patches of different fields all land.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.PatchAnswers(ctx, sessionRef{ID: "s1"}, map[string]any{fmt.Sprintf("k%d", i): i}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.PatchAnswers(ctx, sessionRef{ID: "s1"}, map[string]any{"a": nil}, nil)
	if err != nil || len(got.Answers) != 8 || got.Rev != 9 {
		t.Fatalf("answers %v rev %d err %v", got.Answers, got.Rev, err)
	}
	// Two submissions of one revision: exactly one commits.
	var ok, moved int
	var mu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Submit(ctx, "s1", got.Rev, snapshot{FormID: "f", Version: "2", SessionID: "s1", ConfigHash: "h", Output: got.Answers, Format: "json", Rendered: "{}"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSessionMoved):
				moved++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || moved != 1 {
		t.Fatalf("submissions: %d ok, %d refused", ok, moved)
	}
	if _, err := s.PatchAnswers(ctx, sessionRef{ID: "s1"}, map[string]any{"b": 1}, nil); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("patch after submit: %v", err)
	}
	if snap, err := s.Snapshot(ctx, "s1"); err != nil || snap.ConfigHash != "h" || snap.Target != "" || snap.CreatedAt == nil {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	// A stale revision is refused.
	if _, err := s.CreateSession(ctx, "s2", "f", "2", "me", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(ctx, "s2", 5, snapshot{}); !errors.Is(err, ErrSessionMoved) {
		t.Fatalf("stale submit: %v", err)
	}
}

// Submit is one statement, so one transaction: when the snapshot cannot be
// written (one exists already), the session is not closed either.
func TestStoreSubmitIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateSession(ctx, "s3", "f", "1", "me", map[string]any{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := surreal.Query[any](ctx, s.db, "CREATE config_snapshots:s3 CONTENT {form_id: 'f', version: '1', session_id: 's3', config_hash: 'x', output: {}, format: 'json', rendered: '{}'}", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(ctx, "s3", 0, snapshot{FormID: "f", Version: "1", SessionID: "s3", ConfigHash: "h", Output: map[string]any{}, Format: "json", Rendered: "{}"}); !errors.Is(err, ErrSessionMoved) {
		t.Fatalf("submit over an existing snapshot: %v", err)
	}
	if got, err := s.Session(ctx, "s3"); err != nil || got.Status != "open" || got.Rev != 0 {
		t.Fatalf("the session after a failed submission: %+v %v", got, err)
	}
	if snap, err := s.Snapshot(ctx, "s3"); err != nil || snap.ConfigHash != "x" {
		t.Fatalf("the existing snapshot: %+v %v", snap, err)
	}
	// The answers as read back are sized as what was sent (an instance
	// keeps only small ones).
	long := strings.Repeat("x", 5000)
	got, err := s.PatchAnswers(ctx, sessionRef{ID: "s3"}, map[string]any{"list": []any{map[string]any{"k": long}}}, nil)
	if n := approxSize(got.Answers); err != nil || n < len(long) {
		t.Fatalf("answers read back: %d bytes, %v", n, err)
	}
}

// A patch on the revision the caller knows is merged by the caller as the
// database merges it; on another revision (a patch came in between) the
// answers are read back.
func TestStorePatchMergesAsTheDatabase(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	ref := sessionRef{ID: "s4", FormID: "f", Version: "1", Owner: "me"}
	first, err := s.CreateSession(ctx, ref.ID, ref.FormID, ref.Version, ref.Owner, map[string]any{"a": "1", "b": 2.0})
	if err != nil || first.Rev != 0 || first.CreatedAt.IsZero() || first.Answers["a"] != "1" {
		t.Fatalf("create: %+v %v", first, err)
	}
	patch := map[string]any{"b": nil, "c": []any{map[string]any{"k": "v"}}, "d": 4.5}
	got, err := s.PatchAnswers(ctx, ref, patch, &first)
	if err != nil || got.Rev != 1 || got.Owner != "me" || got.Status != "open" || got.UpdatedAt.Before(got.CreatedAt.Time) {
		t.Fatalf("patch: %+v %v", got, err)
	}
	stored, err := s.Session(ctx, ref.ID)
	if err != nil || fmt.Sprint(got.Answers) != fmt.Sprint(stored.Answers) || len(first.Answers) != 2 {
		t.Fatalf("merged here %v, stored %v (%v); the known answers %v", got.Answers, stored.Answers, err, first.Answers)
	}
	// first is now stale: its answers must not be merged again.
	got, err = s.PatchAnswers(ctx, ref, map[string]any{"e": "5"}, &first)
	if err != nil || got.Rev != 2 || fmt.Sprint(got.Answers["d"]) != "4.5" || got.Answers["e"] != "5" || got.Answers["b"] != nil {
		t.Fatalf("patch on a stale copy: %+v %v", got, err)
	}
}
