package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/kogral"
)

// kogralConfig is .kogral/config.yaml.
type kogralConfig struct {
	Graph  string `yaml:"graph"`
	API    string `yaml:"api"`
	APIKey string `yaml:"api_key,omitempty"`
}

const kogralDir = ".kogral"

// kogralCommand is `stratum kogral`: the knowledge graph from the shell,
// over kogral-api, with the project's graph as markdown files in .kogral/.
func kogralCommand() *cobra.Command {
	var dir, apiFlag string
	cmd := &cobra.Command{Use: "kogral", Short: "Kogral knowledge graph: init, add, search, link, list, show, graph, sync, export, import, serve, config"}
	cmd.PersistentFlags().StringVar(&dir, "dir", ".", "project directory (holding .kogral/)")
	cmd.PersistentFlags().StringVar(&apiFlag, "api", "", "kogral API URL (default: .kogral/config.yaml, $KOGRAL_URL, else http://127.0.0.1:8402)")

	folder := func() string { return filepath.Join(dir, kogralDir) }
	loadConfig := func() kogralConfig {
		cfg := kogralConfig{Graph: "default", API: "http://127.0.0.1:8402"}
		if raw, err := os.ReadFile(filepath.Join(folder(), "config.yaml")); err == nil {
			_ = yaml.Unmarshal(raw, &cfg)
		}
		if u := os.Getenv("KOGRAL_URL"); u != "" {
			cfg.API = u
		}
		if apiFlag != "" {
			cfg.API = apiFlag
		}
		if k := os.Getenv("KOGRAL_API_KEY"); k != "" {
			cfg.APIKey = k
		}
		if cfg.APIKey == "" && strings.Contains(cfg.API, "127.0.0.1") {
			cfg.APIKey = devstack.DevAPIKey // the devstack's development key
		}
		return cfg
	}
	client := func() (*kogral.Client, kogralConfig) {
		cfg := loadConfig()
		return kogral.NewClient(strings.TrimSuffix(cfg.API, "/"), "X-API-Key", cfg.APIKey), cfg
	}
	out := func(cmd *cobra.Command) io.Writer { return cmd.OutOrStdout() }
	printJSON := func(cmd *cobra.Command, v any) {
		enc := json.NewEncoder(out(cmd))
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	}

	var graphName string
	initCmd := &cobra.Command{Use: "init", Short: "Create .kogral/ (config and one folder per node type)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := loadConfig()
			if graphName != "" {
				cfg.Graph = graphName
			}
			for _, t := range kogral.NodeTypes {
				if err := os.MkdirAll(filepath.Join(folder(), kogral.FolderOf(t)), 0o755); err != nil {
					return err
				}
			}
			raw, _ := yaml.Marshal(kogralConfig{Graph: cfg.Graph, API: cfg.API})
			if err := os.WriteFile(filepath.Join(folder(), "config.yaml"), raw, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out(cmd), "Initialized %s for graph %q (API %s)\n", folder(), cfg.Graph, cfg.API)
			return nil
		}}
	initCmd.Flags().StringVar(&graphName, "graph", "", "the project's graph id (default: default)")

	// add writes the node's file and creates it through the API.
	var content, tags, ctxText, decision, consequences, status, supersedes, topic string
	add := &cobra.Command{Use: "add <note|decision|guideline|pattern|journal> [title]", Short: "Add a node (an ADR template for decisions)",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ, err := kogral.NodeType(args[0])
			if err != nil || typ == "Execution" {
				return fmt.Errorf("add %s: want note, decision, guideline, pattern or journal", args[0])
			}
			title := ""
			if len(args) == 2 {
				title = args[1]
			} else if typ == "Journal" {
				title = time.Now().Format("2006-01-02")
			} else {
				return errors.New("a title is required")
			}
			if content == "-" {
				raw, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				content = string(raw)
			}
			c, cfg := client()
			var tagList []string
			for _, t := range strings.Split(tags, ",") {
				if t = strings.TrimSpace(t); t != "" {
					tagList = append(tagList, t)
				}
			}
			ctx := cmd.Context()
			var n kogral.Node
			if typ == "Decision" {
				n, err = kogral.AddDecision(ctx, c, cfg.Graph, title, kogral.ADR{Context: ctxText, Decision: decision,
					Consequences: consequences, Status: status, Supersedes: supersedes}, tagList)
			} else {
				meta := map[string]any{}
				if topic != "" {
					meta["topic"] = topic
				}
				if supersedes != "" && typ == "Guideline" {
					meta["overrides"] = supersedes
				}
				n, err = c.CreateNode(ctx, kogral.NodeInput{NodeType: typ, Title: title, Content: content, Tags: tagList, GraphID: cfg.Graph, Metadata: meta})
			}
			if err != nil {
				return err
			}
			edges, _ := c.Edges(ctx, n.ID)
			var outgoing []kogral.Edge
			for _, e := range edges {
				if e.Source == n.ID {
					outgoing = append(outgoing, e)
				}
			}
			if err := kogral.WriteFolder(folder(), kogral.MarkdownFiles(kogral.Subgraph{Nodes: []kogral.Node{n}, Edges: outgoing})); err != nil {
				return err
			}
			fmt.Fprintf(out(cmd), "Added %s %s (%s)\n", strings.ToLower(typ), n.ID, filepath.Join(kogralDir, kogral.FolderOf(typ), n.ID+".md"))
			return nil
		}}
	add.Flags().StringVarP(&content, "content", "m", "", "markdown body (- reads stdin)")
	add.Flags().StringVar(&tags, "tags", "", "comma-separated tags")
	add.Flags().StringVar(&ctxText, "context", "", "decision: the forces at play")
	add.Flags().StringVar(&decision, "decision", "", "decision: what was decided")
	add.Flags().StringVar(&consequences, "consequences", "", "decision: what follows")
	add.Flags().StringVar(&status, "status", "", "decision: Proposed (default), Accepted, Deprecated, Superseded")
	add.Flags().StringVar(&supersedes, "supersedes", "", "decision: the id it replaces; guideline: the shared guideline it overrides")
	add.Flags().StringVar(&topic, "topic", "", "guideline: its topic (a project guideline overrides a shared one of the same topic)")

	var semantic bool
	var typeFilter, tagFilter, graphFilter string
	var limit int
	search := &cobra.Command{Use: "search <query>", Short: "Search (full-text; --semantic adds meaning)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _ := client()
			hits, err := c.Search(cmd.Context(), kogral.SearchQuery{Query: strings.Join(args, " "), Semantic: semantic,
				Filter: kogral.Filter{NodeType: typeFilter, Tag: tagFilter, GraphID: graphFilter, Limit: limit}})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out(cmd), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCORE\tTYPE\tID\tTITLE\tVIA")
			for _, h := range hits {
				fmt.Fprintf(tw, "%.4f\t%s\t%s\t%s\t%s\n", h.Score, h.Node.NodeType, h.Node.ID, h.Node.Title, h.Via)
			}
			return tw.Flush()
		}}
	search.Flags().BoolVar(&semantic, "semantic", false, "rank by meaning too (embeddings), fused with text")
	list := &cobra.Command{Use: "list", Short: "List nodes", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _ := client()
			nodes, err := c.ListNodes(cmd.Context(), kogral.Filter{NodeType: typeFilter, Tag: tagFilter, GraphID: graphFilter, Limit: limit})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(out(cmd), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tID\tGRAPH\tTITLE\tTAGS")
			for _, n := range nodes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.NodeType, n.ID, n.GraphID, n.Title, strings.Join(n.Tags, ","))
			}
			return tw.Flush()
		}}
	for _, c := range []*cobra.Command{search, list} {
		c.Flags().StringVar(&typeFilter, "type", "", "only this node type")
		c.Flags().StringVar(&tagFilter, "tag", "", "only this tag")
		c.Flags().StringVar(&graphFilter, "graph", "", "only this graph")
		c.Flags().IntVar(&limit, "limit", 0, "at most this many")
	}
	show := &cobra.Command{Use: "show <id>", Short: "Show a node and its edges", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _ := client()
			n, err := c.GetNode(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			edges, err := c.Edges(cmd.Context(), n.ID)
			if err != nil {
				return err
			}
			var outgoing []kogral.Edge
			for _, e := range edges {
				if e.Source == n.ID {
					outgoing = append(outgoing, e)
				}
			}
			_, err = out(cmd).Write(kogral.RenderFile(n, outgoing))
			for _, e := range edges {
				if e.Target == n.ID {
					fmt.Fprintf(out(cmd), "<- %s %s (%g)\n", e.Source, e.Relation, e.Weight)
				}
			}
			return err
		}}
	var weight float64
	link := &cobra.Command{Use: "link <source> <target> <relation>", Short: "Relate two nodes (relates_to, depends_on, implements, extends, supersedes, explains)",
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _ := client()
			e, err := c.Link(cmd.Context(), kogral.Edge{Source: args[0], Target: args[1], Relation: args[2], Weight: weight})
			if err != nil {
				return err
			}
			fmt.Fprintf(out(cmd), "Linked %s -%s-> %s (%g)\n", e.Source, e.Relation, e.Target, e.Weight)
			return nil
		}}
	link.Flags().Float64Var(&weight, "weight", 1, "edge weight")
	unlink := &cobra.Command{Use: "unlink <source> <target> [relation]", Short: "Remove edges between two nodes", Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _ := client()
			rel := ""
			if len(args) == 3 {
				rel = args[2]
			}
			if err := c.Unlink(cmd.Context(), args[0], args[1], rel); err != nil {
				return err
			}
			fmt.Fprintf(out(cmd), "Unlinked %s -> %s\n", args[0], args[1])
			return nil
		}}
	var connected string
	var depth int
	graph := &cobra.Command{Use: "graph", Short: "The graph in DOT (Graphviz)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg := client()
			var g kogral.Subgraph
			var err error
			if connected != "" {
				g, err = c.Connected(cmd.Context(), connected, depth)
			} else {
				g, err = c.Export(cmd.Context(), cfg.Graph)
			}
			if err != nil {
				return err
			}
			_, err = io.WriteString(out(cmd), kogral.DOT(g))
			return err
		}}
	graph.Flags().StringVar(&connected, "connected", "", "only the subgraph around this node")
	graph.Flags().IntVar(&depth, "depth", 2, "with --connected: how many hops")
	syncCmd := &cobra.Command{Use: "sync", Short: "Sync .kogral/ files and the graph, both ways (conflicts are reported, not overwritten)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg := client()
			if _, err := os.Stat(folder()); err != nil {
				return fmt.Errorf("no %s folder: run `stratum kogral init`", folder())
			}
			rep, err := kogral.Sync(cmd.Context(), c, folder(), cfg.Graph)
			fmt.Fprintf(out(cmd), "pushed %d, pulled %d, conflicts %d\n", len(rep.Pushed), len(rep.Pulled), len(rep.Conflicts))
			for _, id := range rep.Conflicts {
				fmt.Fprintf(out(cmd), "  conflict: %s\n", id)
			}
			return err
		}}
	var outDir string
	export := &cobra.Command{Use: "export <markdown|json|dot>", Short: "Export the graph", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _ := client()
			g, err := c.Export(cmd.Context(), graphFilter)
			if err != nil {
				return err
			}
			switch args[0] {
			case "json":
				printJSON(cmd, g)
			case "dot":
				_, err = io.WriteString(out(cmd), kogral.DOT(g))
			case "markdown":
				if outDir == "" {
					return errors.New("export markdown: --out <dir> is required")
				}
				files := kogral.MarkdownFiles(g)
				if err = kogral.WriteFolder(outDir, files); err == nil {
					fmt.Fprintf(out(cmd), "Wrote %d files to %s\n", len(files), outDir)
				}
			default:
				return fmt.Errorf("export %s: want markdown, json or dot", args[0])
			}
			return err
		}}
	export.Flags().StringVar(&outDir, "out", "", "markdown: the folder to write")
	export.Flags().StringVar(&graphFilter, "graph", "", "only this graph (default: all)")
	importCmd := &cobra.Command{Use: "import <path>", Short: "Import a Logseq graph folder or a folder of Kogral markdown files", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg := client()
			var g kogral.Subgraph
			var err error
			if isLogseq(args[0]) {
				g, err = kogral.ImportLogseq(args[0], cfg.Graph)
			} else {
				g, err = kogral.ReadFolder(args[0])
				for i := range g.Nodes {
					if g.Nodes[i].GraphID == "" || g.Nodes[i].GraphID == "default" {
						g.Nodes[i].GraphID = cfg.Graph
					}
				}
			}
			if err != nil {
				return err
			}
			res, err := c.Import(cmd.Context(), g)
			if err != nil {
				return err
			}
			fmt.Fprintf(out(cmd), "Imported %d nodes and %d edges into %q\n", res.Nodes, res.Edges, cfg.Graph)
			return nil
		}}
	var project string
	serve := &cobra.Command{Use: "serve", Short: "Serve the MCP server over stdio (for desktop MCP clients)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg := client()
			if project == "" {
				project = cfg.Graph
			}
			return kogral.NewMCPServer(c, project).Run(cmd.Context(), &mcp.StdioTransport{})
		}}
	serve.Flags().StringVar(&project, "project", "", "the project graph the project resources and prompts mean (default: .kogral/config.yaml's)")
	configCmd := &cobra.Command{Use: "config [set <key> <value>]", Short: "Show or set .kogral/config.yaml (graph, api, api_key)", Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := filepath.Join(folder(), "config.yaml")
			cfg := kogralConfig{}
			if raw, err := os.ReadFile(path); err == nil {
				if err := yaml.Unmarshal(raw, &cfg); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			if len(args) == 0 {
				eff := loadConfig()
				if eff.APIKey != "" {
					eff.APIKey = "(set)"
				}
				raw, _ := yaml.Marshal(eff)
				_, err := out(cmd).Write(raw)
				return err
			}
			if args[0] != "set" || len(args) != 3 {
				return errors.New("usage: stratum kogral config set <graph|api|api_key> <value>")
			}
			switch args[1] {
			case "graph":
				cfg.Graph = args[2]
			case "api":
				cfg.API = args[2]
			case "api_key":
				cfg.APIKey = args[2]
			default:
				return fmt.Errorf("unknown key %q: want graph, api or api_key", args[1])
			}
			if err := os.MkdirAll(folder(), 0o755); err != nil {
				return err
			}
			raw, _ := yaml.Marshal(cfg)
			return os.WriteFile(path, raw, 0o600)
		}}
	graphs := &cobra.Command{Use: "graphs", Short: "List the graphs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _ := client()
			gs, err := c.Graphs(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
			for _, g := range gs {
				fmt.Fprintf(out(cmd), "%s\t%s\t%d nodes\n", g.ID, g.GraphType, g.Nodes)
			}
			return nil
		}}
	cmd.AddCommand(initCmd, add, search, list, show, link, unlink, graph, syncCmd, export, importCmd, serve, configCmd, graphs)
	return cmd
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
