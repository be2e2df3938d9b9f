package exportjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// fixture is a fresh kogral database with three graphs: acme (600 nodes
// of 7.2 KB, more than a page, than a part, and than a synchronous export), shared and globex, and edges
// within acme, from acme to shared and to globex, and within globex.
func fixture(t *testing.T) (*Store, *kogral.Store) {
	t.Helper()
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: "test",
		Database: fmt.Sprintf("exports_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/kogral"); err != nil {
		t.Fatal(err)
	}
	g := kogral.Subgraph{}
	for i := range 600 {
		g.Nodes = append(g.Nodes, kogral.Node{ID: fmt.Sprintf("acme.n%03d", i), NodeType: "note", Title: fmt.Sprintf("Note %d", i),
			Content: strings.Repeat("x", 7200), GraphID: "acme"})
	}
	g.Nodes = append(g.Nodes, kogral.Node{ID: "shared.rule", NodeType: "guideline", Title: "Rule", Content: "r", GraphID: "shared"},
		kogral.Node{ID: "globex.a", NodeType: "note", Title: "A", Content: "a", GraphID: "globex"},
		kogral.Node{ID: "globex.b", NodeType: "note", Title: "B", Content: "b", GraphID: "globex"})
	g.Edges = []kogral.Edge{{Source: "acme.n000", Target: "acme.n001", Relation: "relates_to"},
		{Source: "acme.n002", Target: "shared.rule", Relation: "implements"}, {Source: "acme.n003", Target: "globex.a", Relation: "relates_to"},
		{Source: "globex.a", Target: "globex.b", Relation: "depends_on"}}
	k := kogral.NewStore(db, embed.Local{})
	if _, err := k.Import(ctx, g); err != nil {
		t.Fatal(err)
	}
	return NewStore(db), k
}

func result(t *testing.T, s *Store, id string) (Record, []byte) {
	t.Helper()
	rec, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for n := range rec.Parts {
		part, err := s.Part(context.Background(), rec, n)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(part)
	}
	return rec, all.Bytes()
}

func edgeKeys(edges []kogral.Edge) []string {
	var out []string
	for _, e := range edges {
		out = append(out, e.Source+">"+e.Target)
	}
	slices.Sort(out)
	return out
}

// A job exports what the synchronous export shows its requester, in parts,
// with its progress counted to the end and the graphs it draws on.
func TestRunExportsWhatTheRequesterReads(t *testing.T) {
	ctx := context.Background()
	s, k := fixture(t)
	readable := []string{"acme", "shared"}
	now := time.Now()
	id := NewID(now)
	if _, err := s.Create(ctx, id, Request{Graph: "acme", Format: "json", RequestedBy: "alice", Graphs: []string{"acme"}, Readable: readable}, now); err != nil {
		t.Fatal(err)
	}
	if err := NewRunner(s, DefaultMaxBytes).Run(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	rec, data := result(t, s, id)
	if rec.Status != StatusSucceeded || rec.Parts != (len(data)+PartSize-1)/PartSize || rec.Parts < 2 || rec.Size != len(data) || rec.ContentType != "application/json" {
		t.Fatalf("job %+v with %d bytes", rec.Job, len(data))
	}
	if rec.Done != 602 || rec.Total != 602 || !slices.Equal(rec.Sources, []string{"acme", "shared"}) {
		t.Fatalf("progress %d/%d, sources %v", rec.Done, rec.Total, rec.Sources)
	}
	var got kogral.Subgraph
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want, err := k.Export(kogral.WithVisible(ctx, func(g string) bool { return slices.Contains(readable, g) }), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 600 || len(got.Nodes) != len(want.Nodes) || got.Nodes[599].ID != want.Nodes[599].ID ||
		!slices.Equal(edgeKeys(got.Edges), edgeKeys(want.Edges)) || len(got.Edges) != 2 {
		t.Fatalf("job: %d nodes, edges %v; synchronous: %d nodes, edges %v", len(got.Nodes), edgeKeys(got.Edges), len(want.Nodes), edgeKeys(want.Edges))
	}

	// A redelivery finds the job done and changes nothing.
	if err := NewRunner(s, DefaultMaxBytes).Run(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Get(ctx, id); again.Attempt != rec.Attempt || again.Status != StatusSucceeded {
		t.Fatalf("after a redelivery: %+v", again)
	}
}

// Every format renders; markdown and Logseq as a file set.
func TestRunFormats(t *testing.T) {
	ctx := context.Background()
	s, _ := fixture(t)
	for _, format := range Formats {
		id := NewID(time.Now())
		if _, err := s.Create(ctx, id, Request{Graph: "globex", Format: format, Graphs: []string{"globex"}, Readable: []string{"globex"}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := NewRunner(s, DefaultMaxBytes).Run(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		rec, data := result(t, s, id)
		var files Files
		switch {
		case rec.Status != StatusSucceeded || rec.Parts != 1 || rec.Done != 3:
			t.Fatalf("%s: %+v", format, rec.Job)
		case format == "dot" && !strings.Contains(string(data), `"globex.a" -> "globex.b"`):
			t.Fatalf("dot: %s", data)
		case (format == "markdown" || format == "logseq") && (json.Unmarshal(data, &files) != nil || len(files.Files) < 2):
			t.Fatalf("%s: %s", format, data)
		}
	}
}

// A result above the limit fails the job with a message that says so;
// the delivery is settled (no retry could do better).
func TestRunTooLargeFails(t *testing.T) {
	ctx := context.Background()
	s, _ := fixture(t)
	id := NewID(time.Now())
	if _, err := s.Create(ctx, id, Request{Format: "json", Graphs: []string{"acme"}, Readable: []string{"acme"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := NewRunner(s, 100_000).Run(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	rec, _ := s.Get(ctx, id)
	if rec.Status != StatusFailed || !strings.Contains(rec.Error, "above the limit of 100000") || rec.Parts != 0 {
		t.Fatalf("%+v", rec.Job)
	}
}

// A run that another one took over (a redelivery after a crash) can no
// longer record progress or an end; the later run owns the job.
func TestClaimTakesOver(t *testing.T) {
	ctx := context.Background()
	s, _ := fixture(t)
	id := NewID(time.Now())
	if _, err := s.Create(ctx, id, Request{Format: "dot", Graphs: []string{"globex"}, Readable: []string{"globex"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	first, ok, err := s.Claim(ctx, id)
	if err != nil || !ok || first.Attempt != 1 || first.Status != StatusRunning {
		t.Fatalf("claim: %+v %v %v", first, ok, err)
	}
	second, ok, err := s.Claim(ctx, id)
	if err != nil || !ok || second.Attempt != 2 {
		t.Fatalf("claim again: %+v %v %v", second, ok, err)
	}
	if err := s.Progress(ctx, id, first.Attempt, 1, 3); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("progress of the first run: %v", err)
	}
	if err := s.Succeed(ctx, id, first.Attempt, 0, 1, "text/plain", nil); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("end of the first run: %v", err)
	}
	if err := s.Fail(ctx, id, second.Attempt, "boom"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Claim(ctx, id); ok || err != nil {
		t.Fatalf("a failed job claimed again: %v %v", ok, err)
	}
	if rec, _ := s.Get(ctx, id); rec.Status != StatusFailed || rec.Error != "boom" {
		t.Fatalf("%+v", rec.Job)
	}
}

// A job the API could not announce is failed while queued (attempt 0),
// and no later delivery runs it.
func TestFailQueued(t *testing.T) {
	ctx := context.Background()
	s, _ := fixture(t)
	id := NewID(time.Now())
	if _, err := s.Create(ctx, id, Request{Format: "json", Graphs: []string{"globex"}, Readable: []string{"globex"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, id, 0, "could not be queued: nats unavailable"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Claim(ctx, id); ok || err != nil {
		t.Fatalf("a failed job claimed: %v %v", ok, err)
	}
	if rec, _ := s.Get(ctx, id); rec.Status != StatusFailed || !strings.Contains(rec.Error, "could not be queued") {
		t.Fatalf("%+v", rec.Job)
	}
}

// An expired job is gone: not read, not run, and purged with its parts
// when the next job is queued.
func TestExpiredJobs(t *testing.T) {
	ctx := context.Background()
	s, _ := fixture(t)
	old := time.Now().Add(-TTL - time.Minute)
	id := NewID(old)
	if _, err := s.Create(ctx, id, Request{Format: "json", Graphs: []string{"globex"}, Readable: []string{"globex"}}, old); !errors.Is(err, ErrNotFound) {
		t.Fatalf("create an already expired job: %v", err)
	}
	if err := s.SavePart(ctx, id, 1, 0, []byte("x"), old.Add(TTL)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Claim(ctx, id); ok || err != nil {
		t.Fatalf("claim an expired job: %v %v", ok, err)
	}
	if _, err := s.Create(ctx, NewID(time.Now()), Request{Format: "json", Graphs: []string{}, Readable: []string{}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	left, err := surreal.Query[[]any](ctx, s.db, "SELECT id FROM export_jobs WHERE record::id(id) = $id; ", map[string]any{"id": id})
	parts, perr := surreal.Query[[]any](ctx, s.db, "SELECT id FROM export_parts WHERE job = $id", map[string]any{"id": id})
	if err != nil || perr != nil || len(left) != 0 || len(parts) != 0 {
		t.Fatalf("expired job not purged: %v %v %v %v", left, parts, err, perr)
	}
	if ValidID("exp-../x") || !ValidID(id) {
		t.Fatal("ValidID")
	}
}

// A run keeps stopMargin of its delivery's time to record that it ran out
// of it; a delivery without a deadline, or too close to it, is left as is.
func TestWithMargin(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	work, stop := withMargin(parent)
	defer stop()
	if got, _ := work.Deadline(); !got.Equal(deadline.Add(-stopMargin)) {
		t.Fatalf("deadline %v, want %v", got, deadline.Add(-stopMargin))
	}
	if _, ok := func() (time.Time, bool) { w, s := withMargin(context.Background()); defer s(); return w.Deadline() }(); ok {
		t.Fatal("a deadline from nowhere")
	}
	nearDeadline := time.Now().Add(2 * stopMargin)
	near, cancelNear := context.WithDeadline(context.Background(), nearDeadline)
	defer cancelNear()
	w, s := withMargin(near)
	defer s()
	if got, _ := w.Deadline(); !got.Equal(nearDeadline) {
		t.Fatalf("a near deadline moved to %v", got)
	}
}
