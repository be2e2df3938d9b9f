package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/kogral/files"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

func (k *kogralCLI) exportCmd() *cobra.Command {
	var outDir, graph string
	cmd := &cobra.Command{Use: "export <markdown|json|dot|logseq>", Short: "Export the graph (every graph you read unless --graph: a folder per graph)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format := args[0]
			if format != "json" && format != "dot" && format != "markdown" && format != "logseq" {
				return fmt.Errorf("export %s: want markdown, json, dot or logseq", format)
			}
			if outDir == "" && (format == "markdown" || format == "logseq") {
				return fmt.Errorf("export %s: --out <dir> is required", format)
			}
			b, _, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			bar := newProgressBar(cmd.ErrOrStderr())
			if c, ok := b.(*client.Client); ok { // through an export job: show its progress
				c.ExportProgress = bar.showExport
			}
			g, err := b.Export(cmd.Context(), graph)
			bar.done()
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(cmd.OutOrStdout(), g)
			case "dot":
				_, err = io.WriteString(cmd.OutOrStdout(), render.DOT(g))
				return err
			}
			ex := render.Markdown(g)
			if format == "logseq" {
				ex = render.Logseq(g)
			}
			if err := files.WriteFolder(outDir, ex.Files); err != nil {
				return err
			}
			reportExport(cmd, format, g, ex, outDir)
			return nil
		}}
	cmd.Flags().StringVar(&outDir, "out", "", "markdown, logseq: the folder to write")
	cmd.Flags().StringVar(&graph, "graph", "", "only this graph (default: every graph, each in a folder of its name)")
	return cmd
}

// reportExport says how many nodes an export wrote, where, and warns of
// each node written under another name than its own.
func reportExport(cmd *cobra.Command, format string, g kogral.Subgraph, ex render.Export, outDir string) {
	for _, r := range ex.Renamed {
		what := "its file"
		if format == "logseq" {
			what = "its page name"
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s %q (graph %s) shares %s with another node: written as %s\n", r.ID, r.Title, r.Graph, what, r.Path)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Wrote %d nodes in %d files to %s", ex.Nodes, len(ex.Files), outDir)
	var notes []string
	if n := len(ex.Renamed); n > 0 {
		notes = append(notes, fmt.Sprintf("%d renamed: see the warnings", n))
	}
	if n := len(g.Nodes) - ex.Nodes; n > 0 {
		notes = append(notes, fmt.Sprintf("%d pages only linked to, which an import makes again", n))
	}
	if gs := graphsIn(g); len(gs) > 1 {
		notes = append(notes, "a folder per graph: "+strings.Join(gs, ", "))
	}
	if len(notes) > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), " (%s)", strings.Join(notes, "; "))
	}
	fmt.Fprintln(cmd.OutOrStdout())
}

func graphsIn(g kogral.Subgraph) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range g.Nodes {
		id := n.GraphID
		if id == "" {
			id = "default"
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (k *kogralCLI) importCmd() *cobra.Command {
	var graph string
	var parallel int
	cmd := &cobra.Command{Use: "import <path>", Short: "Import a Logseq graph folder (or an export's folder per graph) or a folder of Kogral markdown files, in batches",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			chosen := cmd.Flags().Changed("graph")
			if graph == "" {
				graph = cfg.Graph
			}
			parts, err := readImport(cmd.ErrOrStderr(), args[0], graph, chosen)
			if err != nil {
				return err
			}
			return k.runImport(cmd, b, parts, parallel)
		}}
	cmd.Flags().StringVar(&graph, "graph", "", "the graph to import into (default: .kogral/config.yaml's)")
	cmd.Flags().IntVar(&parallel, "parallel", 2, "batches sent at once")
	return cmd
}

// importPart is what one run of batches imports: the whole import, one
// graph of an export of several (Graph names it), or (Across) the edges
// between that export's graphs.
type importPart struct {
	Graph  string
	Across bool
	G      kogral.Subgraph
}

// runImport imports each part in batches. A part of a folder per graph
// that the key may not write (a 403: an export of everything holds
// shared, which every key reads) is skipped, with a warning, and the
// others imported; the run then fails naming the graphs skipped. Any
// other failure stops the run.
func (k *kogralCLI) runImport(cmd *cobra.Command, b kogral.Backend, parts []importPart, parallel int) error {
	var total files.ImportReport
	var skipped []string
	var err error
	for _, p := range parts {
		if p.Across {
			p.G.Edges = edgesNotFrom(p.G.Edges, parts, skipped)
		}
		bar := newProgressBar(cmd.ErrOrStderr())
		rep, perr := files.ImportInBatches(cmd.Context(), b, p.G, files.ImportOptions{Parallel: parallel, Progress: bar.show})
		bar.done()
		total.Nodes, total.Edges = total.Nodes+rep.Nodes, total.Edges+rep.Edges
		total.Skipped, total.Conflicts = append(total.Skipped, rep.Skipped...), append(total.Conflicts, rep.Conflicts...)
		var st *client.StatusError
		if p.Graph != "" && errors.As(perr, &st) && st.Status == http.StatusForbidden && rep.Nodes == 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: graph %s: not writable with your API key (%v): skipped\n", p.Graph, perr)
			skipped = append(skipped, p.Graph)
			continue
		}
		total.Graphs = append(total.Graphs, rep.Graphs...)
		if err = perr; err != nil {
			break
		}
	}
	into := reportImport(cmd, total)
	if err != nil && len(skipped) > 0 {
		return fmt.Errorf("%w (skipped before it, not writable with your API key: %s)", k.importError(err, into), strings.Join(skipped, ", "))
	}
	if err != nil {
		return k.importError(err, into)
	}
	if len(skipped) > 0 {
		return fmt.Errorf("not imported: %s: your API key's scope may not write them (a graph belongs to the scope its name starts with); "+
			"import one into a graph of your scope with `stratum kogral import <folder>/<graph> --graph <scope>.<name>`", strings.Join(skipped, ", "))
	}
	return nil
}

// edgesNotFrom are the edges whose source is no node of the graphs
// skipped (no edge is written from a graph the key may not write).
func edgesNotFrom(edges []kogral.Edge, parts []importPart, skipped []string) []kogral.Edge {
	from := map[string]bool{}
	for _, p := range parts {
		if slices.Contains(skipped, p.Graph) {
			for _, n := range p.G.Nodes {
				from[n.ID] = true
			}
		}
	}
	out := edges[:0:0]
	for _, e := range edges {
		if !from[e.Source] {
			out = append(out, e)
		}
	}
	return out
}

// reportImport prints what an import stored and warns of what it left
// out; it returns the graphs written to, quoted.
func reportImport(cmd *cobra.Command, rep files.ImportReport) []string {
	for _, w := range rep.Skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
	}
	if len(rep.Conflicts) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %d nodes left as they are: their ids are nodes of another graph: %s\n",
			len(rep.Conflicts), strings.Join(rep.Conflicts, ", "))
	}
	into := make([]string, len(rep.Graphs))
	for i, g := range rep.Graphs {
		into[i] = strconv.Quote(g)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Imported %d nodes and %d edges into %s", rep.Nodes, rep.Edges, strings.Join(into, ", "))
	if n := len(rep.Skipped) + len(rep.Conflicts); n > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), " (%d left out: see the warnings)", n)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	return into
}

// importError explains an import that failed: a graph the key may not
// write (running again cannot help: another graph can), a batch refused,
// or a failure on the way, which running the same import again completes.
func (k *kogralCLI) importError(err error, into []string) error {
	var st *client.StatusError
	if errors.As(err, &st) && st.Status == http.StatusForbidden {
		why := ""
		if _, statErr := os.Stat(k.configPath()); statErr != nil {
			why = fmt.Sprintf(" (no %s: the graph is \"default\")", k.configPath())
		}
		return fmt.Errorf("%w\nyour API key's scope may not write %s%s: a graph belongs to the scope its name starts with (<scope> or <scope>.<name>); "+
			"import into a graph of your scope with --graph <scope>.<name>, or set the project's graph with `stratum kogral init --graph <scope>.<name>`",
			err, strings.Join(into, ", "), why)
	}
	var in *kogral.InputError
	if errors.As(err, &in) || errors.As(err, &st) && st.Status < 500 {
		return fmt.Errorf("%w (what was imported stays)", err)
	}
	return fmt.Errorf("%w (what was imported stays; run the same import again to complete it)", err)
}

// readImport reads a Logseq graph (warnings to w), an export's folder of
// Logseq graphs (one folder per graph, named by it: a part per graph), or
// a folder of node files, for graph: a node file naming no graph goes to
// it, one naming another goes to that one (refused when --graph was
// chosen). A folder holding none of these is an error.
func readImport(w io.Writer, dir, graph string, chosen bool) ([]importPart, error) {
	if isLogseq(dir) {
		g, err := readLogseq(w, dir, graph)
		return []importPart{{G: g}}, err
	}
	if gs := graphFolders(dir); len(gs) > 0 {
		if chosen {
			return nil, fmt.Errorf("%s holds a Logseq graph per graph (%s), each imported into the graph of its name: "+
				"leave out --graph, or import one of them (%s) with --graph", dir, strings.Join(gs, ", "), filepath.Join(dir, gs[0]))
		}
		var parts []importPart
		for _, name := range gs {
			g, err := readLogseq(w, filepath.Join(dir, name), name)
			if err != nil {
				return nil, err
			}
			parts = append(parts, importPart{Graph: name, G: g})
		}
		return parts, nil
	}
	g, err := files.ReadFolder(dir, graph)
	if err != nil {
		return nil, err
	}
	if len(g.Nodes) == 0 {
		return nil, fmt.Errorf("%s: nothing to import: no Logseq graph (pages/ or journals/ with .md or .org pages, or a folder of such graphs as "+
			"`export logseq` writes) and no Kogral markdown files (*.md)", dir)
	}
	if chosen {
		var others []string
		for _, n := range g.Nodes {
			if n.GraphID != graph && !slices.Contains(others, n.GraphID) {
				others = append(others, n.GraphID)
			}
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("%s holds node files of other graphs (%s) than --graph %s names, each imported into the graph it names: "+
				"leave out --graph, or change their graph: headers", dir, strings.Join(others, ", "), graph)
		}
	}
	return splitByGraph(g), nil
}

// splitByGraph cuts node files of several graphs (a markdown export of
// several) into a part per graph, with the edges between its nodes, and a
// last part of the other edges (between graphs, or to a node outside the
// folder), imported after every graph: one part when they name one graph.
func splitByGraph(g kogral.Subgraph) []importPart {
	graphOf, byGraph := map[string]string{}, map[string]*importPart{}
	var names []string
	for _, n := range g.Nodes {
		graphOf[n.ID] = n.GraphID
		if byGraph[n.GraphID] == nil {
			byGraph[n.GraphID] = &importPart{Graph: n.GraphID}
			names = append(names, n.GraphID)
		}
		byGraph[n.GraphID].G.Nodes = append(byGraph[n.GraphID].G.Nodes, n)
	}
	if len(names) <= 1 {
		return []importPart{{G: g}}
	}
	sort.Strings(names)
	across := importPart{Across: true}
	for _, e := range g.Edges {
		if s, ok := graphOf[e.Source]; ok && s == graphOf[e.Target] {
			byGraph[s].G.Edges = append(byGraph[s].G.Edges, e)
		} else {
			across.G.Edges = append(across.G.Edges, e)
		}
	}
	parts := make([]importPart, 0, len(names)+1)
	for _, name := range names {
		parts = append(parts, *byGraph[name])
	}
	if len(across.G.Edges) > 0 {
		parts = append(parts, across)
	}
	return parts
}

func readLogseq(w io.Writer, dir, graph string) (kogral.Subgraph, error) {
	g, warnings, err := files.ImportLogseq(dir, graph)
	for _, warn := range warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return g, err
}

// isLogseq reports a Logseq graph folder: one with pages/ or journals/.
func isLogseq(dir string) bool {
	for _, sub := range []string{"pages", "journals"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// graphFolders are dir's subfolders that are Logseq graphs named as graphs
// (an export of several graphs), sorted.
func graphFolders(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && kogral.ValidGraph(e.Name()) && isLogseq(filepath.Join(dir, e.Name())) {
			out = append(out, e.Name())
		}
	}
	return out
}
