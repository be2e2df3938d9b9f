package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// ---- batched import -------------------------------------------------------------
//
// A graph goes to a kogral.Backend (kogral-api through the Client, or the kogral.Store)
// in batches under the API's body limit: nodes first, then the edges among
// them. Each batch is an upsert, so an import run again after a failure
// writes the same nodes and edges and continues where it stopped. A batch
// the API refuses as too large or invalid is split in two until the node
// at fault is alone; that node is reported and the rest is imported.

// ImportOptions tune ImportInBatches; zero values take the defaults.
type ImportOptions struct {
	MaxBatchBytes int // JSON bytes of a batch's nodes (default 4 MiB; kogral-api takes 5)
	MaxBatchNodes int // default 500
	MaxBatchEdges int // default 2 000
	Retries       int // tries of a batch that failed for another reason than its content (default 3)
	Progress      func(ImportProgress)
}

// ImportProgress is how far an import is.
type ImportProgress struct {
	Nodes, TotalNodes, Edges, TotalEdges int
}

// ImportReport is what a batched import stored and what it left out.
type ImportReport struct {
	kogral.ImportResult
	Skipped []Warning `json:"skipped"` // refused nodes (file or id) and edges, with the reason
	Graphs  []string  `json:"graphs"`  // the graphs written to
}

func (o ImportOptions) withDefaults() ImportOptions {
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 4 << 20
	}
	if o.MaxBatchNodes <= 0 {
		o.MaxBatchNodes = 500
	}
	if o.MaxBatchEdges <= 0 {
		o.MaxBatchEdges = 2000
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	if o.Progress == nil {
		o.Progress = func(ImportProgress) {}
	}
	return o
}

type batchImport struct {
	b    kogral.Backend
	opt  ImportOptions
	rep  ImportReport
	prog ImportProgress
	left map[string]bool // nodes not stored: their edges are not sent
}

// ImportInBatches imports g into b in batches, reporting progress after
// each. It returns what was stored; an error leaves what was stored before
// it in place, and the same import run again completes it.
func ImportInBatches(ctx context.Context, b kogral.Backend, g kogral.Subgraph, opt ImportOptions) (ImportReport, error) {
	im := &batchImport{b: b, opt: opt.withDefaults(), left: map[string]bool{},
		rep:  ImportReport{ImportResult: kogral.ImportResult{Conflicts: []string{}}, Skipped: []Warning{}, Graphs: []string{}},
		prog: ImportProgress{TotalNodes: len(g.Nodes), TotalEdges: len(g.Edges)}}
	for _, n := range g.Nodes {
		gid := n.GraphID
		if gid == "" {
			gid = "default"
		}
		if !slices.Contains(im.rep.Graphs, gid) {
			im.rep.Graphs = append(im.rep.Graphs, gid)
		}
	}
	slices.Sort(im.rep.Graphs)
	sizes := make([]int, len(g.Nodes))
	for i, n := range g.Nodes {
		raw, _ := json.Marshal(n)
		sizes[i] = len(raw)
	}
	for start := 0; start < len(g.Nodes); {
		end, bytes := start, 0
		for end < len(g.Nodes) && end-start < im.opt.MaxBatchNodes && (end == start || bytes+sizes[end] <= im.opt.MaxBatchBytes) {
			bytes += sizes[end]
			end++
		}
		if err := im.nodes(ctx, g.Nodes[start:end]); err != nil {
			return im.rep, err
		}
		start = end
	}
	var edges []kogral.Edge
	for _, e := range g.Edges {
		if im.left[e.Source] || im.left[e.Target] {
			im.prog.TotalEdges--
			continue
		}
		edges = append(edges, e)
	}
	for start := 0; start < len(edges); start += im.opt.MaxBatchEdges {
		if err := im.edges(ctx, edges[start:min(start+im.opt.MaxBatchEdges, len(edges))]); err != nil {
			return im.rep, err
		}
	}
	return im.rep, nil
}

// nodes sends one batch of nodes, split when refused.
func (im *batchImport) nodes(ctx context.Context, batch []kogral.Node) error {
	res, err := im.send(ctx, kogral.Subgraph{Nodes: batch})
	if refused(err) && len(batch) > 1 {
		half := len(batch) / 2
		if err := im.nodes(ctx, batch[:half]); err != nil {
			return err
		}
		return im.nodes(ctx, batch[half:])
	}
	if refused(err) {
		n := batch[0]
		where, _ := n.Metadata["file"].(string)
		if where == "" {
			where = n.ID
		}
		im.rep.Skipped = append(im.rep.Skipped, Warning{File: where, Line: 1, Msg: fmt.Sprintf("node %s skipped: %v", n.ID, err)})
		im.left[n.ID] = true
		im.prog.Nodes++
		im.opt.Progress(im.prog)
		return nil
	}
	if err != nil {
		return fmt.Errorf("import nodes %d–%d of %d: %w", im.prog.Nodes+1, im.prog.Nodes+len(batch), im.prog.TotalNodes, err)
	}
	im.rep.Nodes += res.Nodes
	for _, id := range res.Conflicts {
		im.left[id] = true
		im.rep.Conflicts = append(im.rep.Conflicts, id)
	}
	im.prog.Nodes += len(batch)
	im.opt.Progress(im.prog)
	return nil
}

// edges sends one batch of edges, split when refused.
func (im *batchImport) edges(ctx context.Context, batch []kogral.Edge) error {
	res, err := im.send(ctx, kogral.Subgraph{Edges: batch})
	if refused(err) && len(batch) > 1 {
		half := len(batch) / 2
		if err := im.edges(ctx, batch[:half]); err != nil {
			return err
		}
		return im.edges(ctx, batch[half:])
	}
	if refused(err) {
		e := batch[0]
		im.rep.Skipped = append(im.rep.Skipped, Warning{File: e.Source, Line: 1, Msg: fmt.Sprintf("edge %s → %s skipped: %v", e.Source, e.Target, err)})
	} else if err != nil {
		return fmt.Errorf("import edges %d–%d of %d: %w", im.prog.Edges+1, im.prog.Edges+len(batch), im.prog.TotalEdges, err)
	}
	im.rep.Edges += res.Edges
	im.prog.Edges += len(batch)
	im.opt.Progress(im.prog)
	return nil
}

// send imports one batch, trying again after a failure that is not the
// batch's fault (the import is an upsert: a batch written twice is written
// once).
func (im *batchImport) send(ctx context.Context, g kogral.Subgraph) (kogral.ImportResult, error) {
	var err error
	for try := 0; try < im.opt.Retries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return kogral.ImportResult{}, ctx.Err()
			case <-time.After(time.Duration(200<<try) * time.Millisecond):
			}
		}
		var res kogral.ImportResult
		if res, err = im.b.Import(ctx, g); err == nil || refused(err) {
			return res, err
		}
	}
	return kogral.ImportResult{}, err
}

// refused is an error about the batch itself: invalid, too large, or an
// edge to a node that is not there.
func refused(err error) bool {
	var in *kogral.InputError
	var nf *kogral.NotFoundError
	var pe *ParseError
	return errors.As(err, &in) || errors.As(err, &nf) || errors.As(err, &pe)
}
