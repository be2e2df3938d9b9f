package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
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
	// Parallel is how many batches are sent at once (default 2): while
	// SurrealDB writes one, kogral-api prepares the next. The nodes are all
	// stored before the first edge is sent.
	Parallel int
	Progress func(ImportProgress)
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
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	o.Parallel = min(o.Parallel, 16)
	if o.Progress == nil {
		o.Progress = func(ImportProgress) {}
	}
	return o
}

type batchImport struct {
	b    kogral.Backend
	opt  ImportOptions
	rep  ImportReport
	left map[string]bool // nodes not stored: their edges are not sent

	mu   sync.Mutex // progress, as batches finish
	prog ImportProgress
}

// part is what one batch (and the halves it was split into) stored and
// left out; the parts are added to the report in the batches' order.
type part struct {
	kogral.ImportResult
	skipped []Warning
	left    []string
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
	nodeBatches := im.nodeBatches(g.Nodes)
	if err := im.inBatches(ctx, len(nodeBatches), func(ctx context.Context, i int, p *part) error {
		return im.nodes(ctx, nodeBatches[i], p)
	}); err != nil {
		return im.rep, err
	}
	var edges []kogral.Edge
	for _, e := range g.Edges {
		if im.left[e.Source] || im.left[e.Target] {
			im.prog.TotalEdges--
			continue
		}
		edges = append(edges, e)
	}
	return im.rep, im.inBatches(ctx, (len(edges)+im.opt.MaxBatchEdges-1)/im.opt.MaxBatchEdges, func(ctx context.Context, i int, p *part) error {
		start := i * im.opt.MaxBatchEdges
		return im.edges(ctx, edges[start:min(start+im.opt.MaxBatchEdges, len(edges))], p)
	})
}

// nodeBatches cuts nodes into batches of at most MaxBatchNodes nodes and
// MaxBatchBytes of JSON (a node larger than that alone).
func (im *batchImport) nodeBatches(nodes []kogral.Node) [][]kogral.Node {
	var out [][]kogral.Node
	for start := 0; start < len(nodes); {
		end, bytes := start, 0
		for end < len(nodes) && end-start < im.opt.MaxBatchNodes {
			raw, _ := json.Marshal(nodes[end])
			if end > start && bytes+len(raw) > im.opt.MaxBatchBytes {
				break
			}
			bytes += len(raw)
			end++
		}
		out = append(out, nodes[start:end])
		start = end
	}
	return out
}

// inBatches runs do for batches 0 to n-1, Parallel at a time, and adds
// their parts to the report in order; after a batch fails, no other is
// started, and the first failure in order is returned.
func (im *batchImport) inBatches(ctx context.Context, n int, do func(context.Context, int, *part) error) error {
	parts, errs := make([]part, n), make([]error, n)
	slots := make(chan struct{}, im.opt.Parallel)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i := 0; i < n && !failed.Load(); i++ {
		slots <- struct{}{}
		if failed.Load() {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if errs[i] = do(ctx, i, &parts[i]); errs[i] != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	for i := range parts {
		p := &parts[i]
		im.rep.Nodes += p.Nodes
		im.rep.Edges += p.Edges
		im.rep.Conflicts = append(im.rep.Conflicts, p.Conflicts...)
		im.rep.Skipped = append(im.rep.Skipped, p.skipped...)
		for _, id := range p.left {
			im.left[id] = true
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// done reports that nodes and edges more were sent.
func (im *batchImport) done(nodes, edges int) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.prog.Nodes += nodes
	im.prog.Edges += edges
	im.opt.Progress(im.prog)
}

// nodes sends one batch of nodes, split when refused.
func (im *batchImport) nodes(ctx context.Context, batch []kogral.Node, p *part) error {
	res, err := im.send(ctx, kogral.Subgraph{Nodes: batch})
	if refused(err) && len(batch) > 1 {
		half := len(batch) / 2
		if err := im.nodes(ctx, batch[:half], p); err != nil {
			return err
		}
		return im.nodes(ctx, batch[half:], p)
	}
	if refused(err) {
		n := batch[0]
		where, _ := n.Metadata["file"].(string)
		if where == "" {
			where = n.ID
		}
		p.skipped = append(p.skipped, Warning{File: where, Line: 1, Msg: fmt.Sprintf("node %s skipped: %v", n.ID, err)})
		p.left = append(p.left, n.ID)
		im.done(1, 0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("import nodes %s–%s: %w", batch[0].ID, batch[len(batch)-1].ID, err)
	}
	p.Nodes += res.Nodes
	p.Conflicts = append(p.Conflicts, res.Conflicts...)
	p.left = append(p.left, res.Conflicts...)
	im.done(len(batch), 0)
	return nil
}

// edges sends one batch of edges, split when refused.
func (im *batchImport) edges(ctx context.Context, batch []kogral.Edge, p *part) error {
	res, err := im.send(ctx, kogral.Subgraph{Edges: batch})
	if refused(err) && len(batch) > 1 {
		half := len(batch) / 2
		if err := im.edges(ctx, batch[:half], p); err != nil {
			return err
		}
		return im.edges(ctx, batch[half:], p)
	}
	if refused(err) {
		e := batch[0]
		p.skipped = append(p.skipped, Warning{File: e.Source, Line: 1, Msg: fmt.Sprintf("edge %s → %s skipped: %v", e.Source, e.Target, err)})
	} else if err != nil {
		return fmt.Errorf("import edges %s → %s to %s → %s: %w", batch[0].Source, batch[0].Target, batch[len(batch)-1].Source, batch[len(batch)-1].Target, err)
	}
	p.Edges += res.Edges
	im.done(0, len(batch))
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
