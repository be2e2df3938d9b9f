package exportjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Runner runs export jobs: kogral-export's work.
type Runner struct {
	store *Store
	// maxBytes bounds a result; a larger one fails the job.
	maxBytes int
	now      func() time.Time
}

// NewRunner runs jobs of s, failing those whose result passes maxBytes.
func NewRunner(s *Store, maxBytes int) *Runner {
	return &Runner{store: s, maxBytes: maxBytes, now: time.Now}
}

// FailedError is a run that cannot succeed, whoever tries again: the job
// is failed with it.
type FailedError struct{ Msg string }

func (e *FailedError) Error() string { return e.Msg }

// Files is the result of a markdown or Logseq export: file name → content.
type Files struct {
	Files map[string]string `json:"files"`
}

// Run runs job id once, from scratch. A job that has ended, expired or is
// gone is left alone (a redelivery). A run that cannot succeed
// (FailedError) fails the job and returns nil; another error is returned
// for the delivery to be retried, and also fails the job when last is set
// (no retry will come).
func (r *Runner) Run(ctx context.Context, id string, last bool) error {
	rec, ok, err := r.store.Claim(ctx, id)
	if err != nil || !ok {
		return err
	}
	log := obs.Log(ctx).With("job", id, "attempt", rec.Attempt)
	work, cancel := withMargin(ctx)
	defer cancel()
	err = r.export(work, rec)
	if err != nil && work.Err() != nil && ctx.Err() == nil {
		// Another run would run out of time as well.
		err = &FailedError{Msg: fmt.Sprintf("the export did not finish in the time kogral-export has (%v): export one graph at a time", err)}
	}
	var failed *FailedError
	switch {
	case err == nil:
		log.Info("export job succeeded")
		return nil
	case errors.Is(err, ErrSuperseded):
		log.Warn("export job taken over by a later run")
		return nil
	case errors.As(err, &failed) || last:
		log.Warn("export job failed", "error", err.Error())
		if ferr := r.store.Fail(ctx, id, rec.Attempt, err.Error()); ferr != nil && !errors.Is(ferr, ErrSuperseded) {
			return errors.Join(err, ferr)
		}
		return nil
	}
	return err
}

// stopMargin is the time a run keeps, before its delivery's deadline, to
// record that it ran out of time.
const stopMargin = 10 * time.Second

// withMargin is ctx ending stopMargin before its deadline, when it has one
// far enough away.
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 3*stopMargin {
		return context.WithDeadline(ctx, deadline.Add(-stopMargin))
	}
	return context.WithCancel(ctx)
}

// export reads the job's graphs (recording progress after each page of
// nodes and after the edges), renders them and saves the result in parts.
func (r *Runner) export(ctx context.Context, rec Record) error {
	size, err := r.store.Counts(ctx, rec.Graphs, rec.Readable)
	if err != nil {
		return err
	}
	nodes, edges := size.Nodes, size.Edges
	if err := r.store.Progress(ctx, rec.ID, rec.Attempt, 0, nodes+edges); err != nil {
		return err
	}
	g := kogral.Subgraph{Nodes: []kogral.Node{}, Edges: []kogral.Edge{}}
	for after := ""; ; {
		page, err := r.store.Nodes(ctx, rec.Graphs, after, PageSize)
		if err != nil {
			return err
		}
		g.Nodes = append(g.Nodes, page...)
		if len(page) > 0 {
			after = page[len(page)-1].ID
			// Nodes written meanwhile may push the count past the first one.
			if err := r.store.Progress(ctx, rec.ID, rec.Attempt, len(g.Nodes), max(nodes, len(g.Nodes))+edges); err != nil {
				return err
			}
		}
		if len(page) < PageSize {
			break
		}
	}
	list, err := r.store.Edges(ctx, rec.Graphs, rec.Readable)
	if err != nil {
		return err
	}
	sources := map[string]bool{}
	for _, n := range g.Nodes {
		sources[n.GraphID] = true
	}
	for _, e := range list {
		g.Edges = append(g.Edges, e.Edge)
		sources[e.SourceGraph], sources[e.TargetGraph] = true, true
	}
	if err := r.store.Progress(ctx, rec.ID, rec.Attempt, len(g.Nodes)+len(g.Edges), len(g.Nodes)+len(g.Edges)); err != nil {
		return err
	}
	data, contentType, err := Render(g, rec.Format)
	if err != nil {
		return err
	}
	if len(data) > r.maxBytes {
		return &FailedError{Msg: fmt.Sprintf("the export is %d bytes, above the limit of %d: export one graph at a time", len(data), r.maxBytes)}
	}
	parts := 0
	for off := 0; off < len(data) || parts == 0; off += PartSize {
		if err := r.store.SavePart(ctx, rec.ID, rec.Attempt, parts, data[off:min(off+PartSize, len(data))], rec.ExpiresAt); err != nil {
			return err
		}
		parts++
	}
	var graphs []string
	for graph := range sources {
		graphs = append(graphs, graph)
	}
	slices.Sort(graphs)
	return r.store.Succeed(ctx, rec.ID, rec.Attempt, len(data), parts, contentType, graphs)
}

// Render writes g in format, with the content type of the result.
func Render(g kogral.Subgraph, format string) ([]byte, string, error) {
	files := func(m map[string][]byte) ([]byte, string, error) {
		out := Files{Files: make(map[string]string, len(m))}
		for k, v := range m {
			out.Files[k] = string(v)
		}
		data, err := json.Marshal(out)
		return data, "application/json", err
	}
	switch format {
	case "json":
		data, err := json.Marshal(g)
		return data, "application/json", err
	case "dot":
		return []byte(render.DOT(g)), "text/vnd.graphviz; charset=utf-8", nil
	case "markdown":
		return files(render.MarkdownFiles(g))
	case "logseq":
		return files(render.ExportLogseq(g))
	}
	return nil, "", &FailedError{Msg: fmt.Sprintf("format %q: want json, dot, markdown or logseq", format)}
}
