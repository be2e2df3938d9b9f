package files_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/kogral/files"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// The edge-case graph through kogral-api under a small body limit: batches
// that are too large are split until they pass, the page that cannot pass
// alone is reported and the rest is stored; the counts are what is stored;
// a second run changes nothing (created_at included); the same folder in a
// second graph leaves the first as it was; an import never moves a node
// out of its graph. Batches go three at a time (the progress, reported as
// each ends, still counts up to the totals).
func TestBatchedImportIntoTwoGraphs(t *testing.T) {
	ctx := context.Background()
	s := files.NewTestStore(t)
	api := httptest.NewServer(httpapi.Options{MaxBody: 512 << 10}.Middleware(testAPI(s)))
	defer api.Close()
	c := client.NewClient(api.URL, "", "")
	dir := files.EdgeCaseGraph(t)
	g, _, err := files.ImportLogseq(dir, "one")
	if err != nil {
		t.Fatal(err)
	}
	var steps []files.ImportProgress
	rep, err := files.ImportInBatches(ctx, c, g, files.ImportOptions{MaxBatchBytes: 400 << 10, MaxBatchNodes: 20, MaxBatchEdges: 15,
		Parallel: 3, Progress: func(p files.ImportProgress) { steps = append(steps, p) }})
	if err != nil {
		t.Fatal(err)
	}
	// Big.md is over the API's 512 KiB body limit on its own.
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].String(), "pages/Big.md:1: node one.big skipped") {
		t.Fatalf("skipped: %v", rep.Skipped)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].Nodes < steps[i-1].Nodes || steps[i].Edges < steps[i-1].Edges {
			t.Fatalf("progress went back: %+v then %+v", steps[i-1], steps[i])
		}
	}
	last := steps[len(steps)-1]
	if rep.Nodes != len(g.Nodes)-1 || last.Nodes != last.TotalNodes || last.Edges != last.TotalEdges || len(steps) < 4 {
		t.Fatalf("report %+v, progress %+v (%d steps)", rep, last, len(steps))
	}
	stored, err := s.Export(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Nodes) != rep.Nodes || len(stored.Edges) != rep.Edges {
		t.Fatalf("stored %d nodes and %d edges, reported %d and %d", len(stored.Nodes), len(stored.Edges), rep.Nodes, rep.Edges)
	}
	created := map[string]time.Time{}
	for _, n := range stored.Nodes {
		created[n.ID] = n.CreatedAt
	}

	// Again, into the same graph: the same nodes, their creation kept.
	rep2, err := files.ImportInBatches(ctx, c, g, files.ImportOptions{MaxBatchBytes: 400 << 10})
	if err != nil || rep2.Nodes != rep.Nodes || rep2.Edges != rep.Edges {
		t.Fatalf("second run: %+v %v", rep2, err)
	}
	// Into a second graph: its own nodes; the first graph keeps all of its.
	g2, _, _ := files.ImportLogseq(dir, "two")
	if _, err := files.ImportInBatches(ctx, s, g2, files.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	graphs, _ := s.Graphs(ctx)
	counts := map[string]int{}
	for _, gi := range graphs {
		counts[gi.ID] = gi.Nodes
	}
	if counts["one"] != rep.Nodes || counts["two"] != len(g2.Nodes) {
		t.Fatalf("graph counts %v, want one %d and two %d", counts, rep.Nodes, len(g2.Nodes))
	}
	after, _ := s.Export(ctx, "one")
	for _, n := range after.Nodes {
		if !n.CreatedAt.Equal(created[n.ID]) {
			t.Fatalf("%s: created_at %v, was %v", n.ID, n.CreatedAt, created[n.ID])
		}
	}
	// A node of graph one imported as graph one.two's (same scope) is left where it is.
	moved := stored.Nodes[0]
	moved.GraphID, moved.Content = "one.two", "taken over"
	res, err := s.Import(ctx, kogral.Subgraph{Nodes: []kogral.Node{moved}})
	if err != nil || !slices.Equal(res.Conflicts, []string{moved.ID}) || res.Nodes != 0 {
		t.Fatalf("cross-graph import: %+v %v", res, err)
	}
	if n, _ := s.GetNode(ctx, moved.ID); n.GraphID != "one" || n.Content == "taken over" {
		t.Fatalf("the node moved: %+v", n)
	}
}

// An export imported again into an empty database keeps each node's
// created_at; content starting with "---" or an empty "-" survives the
// markdown files.
func TestRoundTripKeepsDatesAndLeadingMarkers(t *testing.T) {
	ctx := context.Background()
	a, b := files.NewTestStore(t), files.NewTestStore(t)
	for _, content := range []string{"---\ntitle: x\n---\n- body", "-\n- second", "- ok"} {
		if _, err := a.CreateNode(ctx, kogral.NodeInput{NodeType: "Note", Title: "T " + content[:2], Content: content, GraphID: "rt"}); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := a.Export(ctx, "rt")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "md")
	if err := files.WriteFolder(dir, render.MarkdownFiles(exp)); err != nil {
		t.Fatal(err)
	}
	back, err := files.ReadFolder(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, back); err != nil {
		t.Fatal(err)
	}
	got, _ := b.Export(ctx, "rt")
	if len(got.Nodes) != 3 {
		t.Fatalf("%d nodes", len(got.Nodes))
	}
	for i, n := range got.Nodes {
		want := exp.Nodes[i]
		if n.Content != want.Content || !n.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("%s: %q %v, want %q %v", n.ID, n.Content, n.CreatedAt, want.Content, want.CreatedAt)
		}
	}
}

// Searches people type: a question finds the page its words are about,
// pages only linked to stay out unless asked for, each hit has a snippet
// with the words marked, and the API sends content only with full=true.
func TestSearchQuestions(t *testing.T) {
	ctx := context.Background()
	s := files.NewTestStore(t)
	dir := t.TempDir()
	for rel, body := range map[string]string{
		"pages/Templates.md":      "- Use a template to create a page with its properties filled in.\n- Templates live in the [[Template Gallery]].\n",
		"pages/Creating pages.md": "- To create a page, type its name in the search box.\n",
		"pages/Journal tips.md":   "- Do the journal first thing in the morning; it is how I start.\n",
	} {
		if err := files.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	g, _, err := files.ImportLogseq(dir, "help")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, g); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, kogral.SearchQuery{Query: "how do I create a template"})
	if err != nil || len(hits) < 2 || hits[0].Node.ID != "help.templates" {
		t.Fatalf("question: %+v %v", hits, err)
	}
	if !strings.Contains(hits[0].Snippet, "**template**") || !strings.Contains(hits[0].Snippet, "**create**") {
		t.Fatalf("snippet: %q", hits[0].Snippet)
	}
	for _, semantic := range []bool{false, true} {
		hits, _ := s.Search(ctx, kogral.SearchQuery{Query: "template gallery", Semantic: semantic})
		for _, h := range hits {
			if h.Node.ID == "help.template-gallery" {
				t.Fatalf("semantic=%v: a placeholder is a hit", semantic)
			}
		}
		hits, _ = s.Search(ctx, kogral.SearchQuery{Query: "template gallery", Semantic: semantic, Placeholders: true})
		if !slices.ContainsFunc(hits, func(h kogral.Hit) bool { return h.Node.ID == "help.template-gallery" }) {
			t.Fatalf("semantic=%v: placeholders asked for, not found", semantic)
		}
	}
	api := httptest.NewServer(testAPI(s))
	defer api.Close()
	c := client.NewClient(api.URL, "", "")
	for _, full := range []bool{false, true} {
		hits, err := c.Search(ctx, kogral.SearchQuery{Query: "template", Full: full})
		if err != nil || len(hits) == 0 || (hits[0].Node.Content != "") != full || hits[0].Snippet == "" {
			t.Fatalf("full=%v: %+v %v", full, hits, err)
		}
	}
}

// testAPI is kogral-api over b, without authentication.
func testAPI(b kogral.Backend) http.Handler {
	return httpapi.Spec[*apifn.API]{Ops: apifn.APISpec().Ops}.Handler(apifn.New(b, nil, nil))
}

// failingOnce is a backend whose nth import fails as an outage would.
type failingOnce struct {
	kogral.Backend
	calls atomic.Int32
	nth   int32
}

func (f *failingOnce) Import(ctx context.Context, g kogral.Subgraph) (kogral.ImportResult, error) {
	if f.calls.Add(1) == f.nth {
		return kogral.ImportResult{}, errors.New("kogral-api unavailable")
	}
	return f.Backend.Import(ctx, g)
}

// A batch that fails, among batches sent two at a time, stops the import:
// the report counts what the batches that ended stored, no batch starts
// after the failure, and the same import run again completes it.
func TestBatchedImportStopsAtAFailure(t *testing.T) {
	ctx := context.Background()
	s := files.NewTestStore(t)
	g, _, err := files.ImportLogseq(files.EdgeCaseGraph(t), "cut")
	if err != nil {
		t.Fatal(err)
	}
	b := &failingOnce{Backend: s, nth: 3}
	opt := files.ImportOptions{MaxBatchNodes: 4, MaxBatchEdges: 4, Retries: 1, Parallel: 2}
	rep, err := files.ImportInBatches(ctx, b, g, opt)
	if err == nil || !strings.Contains(err.Error(), "kogral-api unavailable") {
		t.Fatalf("import through an outage: %v", err)
	}
	if calls, batches := b.calls.Load(), (len(g.Nodes)+3)/4; calls >= int32(batches)-1 {
		t.Fatalf("%d imports sent for %d batches of nodes: batches kept starting after the failure", calls, batches)
	}
	stored, _ := s.Export(ctx, "cut")
	if rep.Nodes != len(stored.Nodes) || rep.Nodes == 0 || rep.Edges != 0 {
		t.Fatalf("reported %d nodes and %d edges, %d nodes stored", rep.Nodes, rep.Edges, len(stored.Nodes))
	}
	full, err := files.ImportInBatches(ctx, s, g, opt)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = s.Export(ctx, "cut")
	if full.Nodes != len(stored.Nodes) || full.Edges != len(stored.Edges) || full.Nodes <= rep.Nodes {
		t.Fatalf("run again: reported %+v, stored %d nodes and %d edges", full.ImportResult, len(stored.Nodes), len(stored.Edges))
	}
}
