package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/kogral/embed"
	"github.com/stratumiops/stratumiops/shared/kogral/files"
	"github.com/stratumiops/stratumiops/shared/kogral/mcpserver"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// kogralConfig is .kogral/config.yaml. With Surreal set (init
// --with-surreal), the CLI works on SurrealDB directly rather than through
// kogral-api.
type kogralConfig struct {
	Graph   string         `yaml:"graph"`
	API     string         `yaml:"api"`
	APIKey  string         `yaml:"api_key,omitempty"`
	Surreal *surrealConfig `yaml:"surreal,omitempty"`
}

// surrealConfig is where the graph's SurrealDB is; the password comes from
// $SURREAL_PASS (default root), never from the file.
type surrealConfig struct {
	URL       string `yaml:"url"`
	Namespace string `yaml:"namespace"`
	Database  string `yaml:"database"`
	User      string `yaml:"user"`
}

const kogralDir = ".kogral"

// kogralCLI is what every `stratum kogral` command shares.
type kogralCLI struct {
	dir, api string
}

// kogralCommand is `stratum kogral`: the knowledge graph from the shell,
// over kogral-api (or SurrealDB directly), with the project's graph as
// markdown files in .kogral/.
func kogralCommand() *cobra.Command {
	k := &kogralCLI{}
	cmd := &cobra.Command{Use: "kogral", Short: "Kogral knowledge graph: init, add, search, link, list, show, graph, sync, export, import, serve, config"}
	cmd.PersistentFlags().StringVar(&k.dir, "dir", ".", "project directory (holding .kogral/)")
	cmd.PersistentFlags().StringVar(&k.api, "api", "", "kogral API URL (default: .kogral/config.yaml, $KOGRAL_URL, else http://127.0.0.1:8402)")
	cmd.AddCommand(k.initCmd(), k.addCmd(), k.searchCmd(), k.listCmd(), k.showCmd(), k.linkCmd(), k.unlinkCmd(), k.graphCmd(),
		k.syncCmd(), k.exportCmd(), k.importCmd(), k.serveCmd(), k.configCmd(), k.graphsCmd())
	return cmd
}

func (k *kogralCLI) folder() string     { return filepath.Join(k.dir, kogralDir) }
func (k *kogralCLI) configPath() string { return filepath.Join(k.folder(), "config.yaml") }

// fileConfig is config.yaml as written (no defaults, no environment).
func (k *kogralCLI) fileConfig() (kogralConfig, error) {
	var cfg kogralConfig
	raw, err := os.ReadFile(k.configPath())
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", k.configPath(), err)
	}
	return cfg, nil
}

// config is the effective configuration: the file, then the environment
// and flags over it.
func (k *kogralCLI) config() kogralConfig {
	cfg, _ := k.fileConfig()
	if cfg.Graph == "" {
		cfg.Graph = "default"
	}
	if cfg.API == "" {
		cfg.API = "http://127.0.0.1:8402"
	}
	if u := os.Getenv("KOGRAL_URL"); u != "" {
		cfg.API = u
	}
	if k.api != "" {
		cfg.API = k.api
	}
	if key := os.Getenv("KOGRAL_API_KEY"); key != "" {
		cfg.APIKey = key
	}
	if cfg.APIKey == "" && strings.Contains(cfg.API, "127.0.0.1") {
		cfg.APIKey = devstack.DevAPIKey // the devstack's development key
	}
	return cfg
}

// backend is the graph: SurrealDB directly when the config names one (its
// schema brought up to date first), else kogral-api.
func (k *kogralCLI) backend(ctx context.Context) (kogral.Backend, kogralConfig, error) {
	cfg := k.config()
	if cfg.Surreal == nil || cfg.Surreal.URL == "" || k.api != "" {
		return client.NewClient(strings.TrimSuffix(cfg.API, "/"), "X-API-Key", cfg.APIKey), cfg, nil
	}
	sc := surreal.ConfigFromEnv(cfg.Surreal.Database)
	sc.URL, sc.Namespace, sc.User = cfg.Surreal.URL, cfg.Surreal.Namespace, cfg.Surreal.User
	db := surreal.New(sc, nil)
	if _, err := surreal.Migrate(ctx, db, schemas.Surreal, "surreal/kogral"); err != nil {
		return nil, cfg, fmt.Errorf("kogral on SurrealDB %s: %w", sc.URL, err)
	}
	e, err := embed.FromEnv(ctx, os.Getenv)
	if err != nil {
		return nil, cfg, err
	}
	return kogral.NewStore(db, e), cfg, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (k *kogralCLI) initCmd() *cobra.Command {
	var graph string
	var withSurreal bool
	sc := surrealConfig{}
	cmd := &cobra.Command{Use: "init", Short: "Create .kogral/ (config and one folder per node type)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := k.fileConfig()
			if err != nil {
				return err
			}
			eff := k.config()
			cfg.Graph, cfg.API = eff.Graph, eff.API
			if graph != "" {
				cfg.Graph = graph
			}
			if withSurreal {
				if sc.URL == "" {
					sc.URL = surreal.ConfigFromEnv("").URL
				}
				cfg.Surreal = &sc
			}
			for _, t := range kogral.NodeTypes {
				if err := os.MkdirAll(filepath.Join(k.folder(), render.FolderOf(t)), 0o755); err != nil {
					return err
				}
			}
			cfg.APIKey = ""
			raw, _ := yaml.Marshal(cfg)
			if err := writePrivate(k.configPath(), raw); err != nil {
				return err
			}
			where := "API " + cfg.API
			if cfg.Surreal != nil {
				where = fmt.Sprintf("SurrealDB %s, namespace %s, database %s", sc.URL, sc.Namespace, sc.Database)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Initialized %s for graph %q (%s)\n", k.folder(), cfg.Graph, where)
			return nil
		}}
	cmd.Flags().StringVar(&graph, "graph", "", "the project's graph id (default: default)")
	cmd.Flags().BoolVar(&withSurreal, "with-surreal", false, "work on SurrealDB directly (password from $SURREAL_PASS) instead of the API")
	cmd.Flags().StringVar(&sc.URL, "surreal-url", "", "with --with-surreal: the SurrealDB URL (default $SURREAL_URL or ws://127.0.0.1:8000)")
	cmd.Flags().StringVar(&sc.Namespace, "surreal-namespace", surreal.Namespace, "with --with-surreal: the namespace")
	cmd.Flags().StringVar(&sc.Database, "surreal-database", "kogral", "with --with-surreal: the database")
	cmd.Flags().StringVar(&sc.User, "surreal-user", "root", "with --with-surreal: the user")
	return cmd
}

// addFlags are `add`'s flags.
type addFlags struct {
	content, tags, context, decision, consequences, status, supersedes, topic, related string
	alternatives                                                                       []string
}

func (k *kogralCLI) addCmd() *cobra.Command {
	var f addFlags
	cmd := &cobra.Command{Use: "add <note|decision|guideline|pattern|journal> [title]",
		Short: "Add a node; `add decision` without flags asks for each field of the ADR",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			typ, err := kogral.NodeType(args[0])
			if err != nil || typ == "Execution" {
				return fmt.Errorf("add %s: want note, decision, guideline, pattern or journal", args[0])
			}
			title := ""
			if len(args) == 2 {
				title = args[1]
			}
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			var n kogral.Node
			if typ == "Decision" {
				n, err = k.addDecision(cmd, b, cfg, title, f)
			} else {
				n, err = k.addNode(cmd, b, cfg, typ, title, f)
			}
			if err != nil {
				return err
			}
			return k.writeNodeFile(cmd, b, n)
		}}
	fl := cmd.Flags()
	fl.StringVarP(&f.content, "content", "m", "", "markdown body (- reads stdin)")
	fl.StringVar(&f.tags, "tags", "", "comma-separated tags")
	fl.StringVar(&f.context, "context", "", "decision: the forces at play")
	fl.StringVar(&f.decision, "decision", "", "decision: what was decided")
	fl.StringVar(&f.consequences, "consequences", "", "decision: what follows")
	fl.StringVar(&f.status, "status", "", "decision: Proposed (default), Accepted, Deprecated, Superseded")
	fl.StringVar(&f.supersedes, "supersedes", "", "decision: the id it replaces; guideline: the shared guideline it overrides")
	fl.StringVar(&f.related, "related", "", "decision: comma-separated ids of related decisions")
	fl.StringArrayVar(&f.alternatives, "alternative", nil, `decision: an alternative considered, "title|pro; pro|con; con|why not chosen" (repeatable)`)
	fl.StringVar(&f.topic, "topic", "", "guideline: its topic (a project guideline overrides a shared one of the same topic)")
	return cmd
}

// addDecision records an ADR from the flags or, when none of its flags is
// given, from answers to prompts.
func (k *kogralCLI) addDecision(cmd *cobra.Command, b kogral.Backend, cfg kogralConfig, title string, f addFlags) (kogral.Node, error) {
	d := kogral.DecisionRecord{Title: title, GraphID: cfg.Graph}
	fl := cmd.Flags()
	guided := true
	for _, name := range []string{"context", "decision", "consequences", "status", "supersedes", "related", "alternative", "tags"} {
		if fl.Changed(name) {
			guided = false
		}
	}
	if guided {
		if err := askDecision(cmd.InOrStdin(), cmd.OutOrStdout(), &d); err != nil {
			return kogral.Node{}, err
		}
		return b.AddDecision(cmd.Context(), d)
	}
	if title == "" {
		return kogral.Node{}, errors.New("add decision: a title is required")
	}
	d.ADR = kogral.ADR{Context: f.context, Decision: f.decision, Consequences: f.consequences, Status: f.status,
		Supersedes: f.supersedes, RelatedDecisions: splitList(f.related, ",")}
	d.Tags = splitList(f.tags, ",")
	for _, a := range f.alternatives {
		parts := strings.SplitN(a, "|", 4)
		for len(parts) < 4 {
			parts = append(parts, "")
		}
		d.Alternatives = append(d.Alternatives, kogral.Alternative{Title: parts[0], Pros: splitList(parts[1], ";"),
			Cons: splitList(parts[2], ";"), WhyNotChosen: strings.TrimSpace(parts[3])})
	}
	return b.AddDecision(cmd.Context(), d)
}

func (k *kogralCLI) addNode(cmd *cobra.Command, b kogral.Backend, cfg kogralConfig, typ, title string, f addFlags) (kogral.Node, error) {
	if title == "" && typ == "Journal" {
		title = time.Now().Format("2006-01-02")
	}
	if title == "" {
		return kogral.Node{}, errors.New("a title is required")
	}
	if f.content == "-" {
		raw, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return kogral.Node{}, err
		}
		f.content = string(raw)
	}
	meta := map[string]any{}
	if f.topic != "" {
		meta["topic"] = f.topic
	}
	if f.supersedes != "" && typ == "Guideline" {
		meta["overrides"] = f.supersedes
	}
	return b.CreateNode(cmd.Context(), kogral.NodeInput{NodeType: typ, Title: title, Content: f.content, Tags: splitList(f.tags, ","),
		GraphID: cfg.Graph, Metadata: meta})
}

// writeNodeFile writes a node just added, with its outgoing edges, under .kogral/.
func (k *kogralCLI) writeNodeFile(cmd *cobra.Command, b kogral.Backend, n kogral.Node) error {
	out, err := b.Edges(cmd.Context(), n.ID, kogral.DirectionOut)
	if err != nil {
		return err
	}
	if err := files.WriteFolder(k.folder(), render.MarkdownFiles(kogral.Subgraph{Nodes: []kogral.Node{n}, Edges: out})); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Added %s %s (%s)\n", strings.ToLower(n.NodeType), n.ID,
		filepath.Join(kogralDir, render.MarkdownPath(n)))
	return nil
}

// filterFlags are the node filters of search and list.
type filterFlags struct {
	typ, tag, graph string
	limit           int
}

func (f *filterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.typ, "type", "", "only this node type")
	cmd.Flags().StringVar(&f.tag, "tag", "", "only this tag")
	cmd.Flags().StringVar(&f.graph, "graph", "", "only this graph")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "at most this many")
}

func (f *filterFlags) filter() kogral.Filter {
	return kogral.Filter{NodeType: f.typ, Tag: f.tag, GraphID: f.graph, Limit: f.limit}
}

func (k *kogralCLI) searchCmd() *cobra.Command {
	var f filterFlags
	var semantic bool
	cmd := &cobra.Command{Use: "search <query>", Short: "Search (full-text; --semantic adds meaning)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, _, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			hits, err := b.Search(cmd.Context(), kogral.SearchQuery{Query: strings.Join(args, " "), Semantic: semantic, Filter: f.filter()})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SCORE\tTYPE\tID\tTITLE\tVIA\tBLOCK")
			for _, h := range hits {
				block := ""
				if h.Block != nil {
					block = h.Block.ID
				}
				fmt.Fprintf(tw, "%.4f\t%s\t%s\t%s\t%s\t%s\n", h.Score, h.Node.NodeType, h.Node.ID, h.Node.Title, h.Via, block)
			}
			return tw.Flush()
		}}
	f.register(cmd)
	cmd.Flags().BoolVar(&semantic, "semantic", false, "rank by meaning too (embeddings), fused with text")
	return cmd
}

func (k *kogralCLI) listCmd() *cobra.Command {
	var f filterFlags
	cmd := &cobra.Command{Use: "list", Short: "List nodes", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, _, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			nodes, err := b.ListNodes(cmd.Context(), f.filter())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tID\tGRAPH\tTITLE\tTAGS")
			for _, n := range nodes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.NodeType, n.ID, n.GraphID, n.Title, strings.Join(n.Tags, ","))
			}
			return tw.Flush()
		}}
	f.register(cmd)
	return cmd
}

func (k *kogralCLI) showCmd() *cobra.Command {
	return &cobra.Command{Use: "show <id>", Short: "Show a node (as its file) and the edges reaching it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			id, err := k.nodeRef(cfg, args[0])
			if err != nil {
				return err
			}
			n, err := b.GetNode(cmd.Context(), id)
			if err != nil {
				return err
			}
			out, err := b.Edges(cmd.Context(), n.ID, kogral.DirectionOut)
			if err != nil {
				return err
			}
			in, err := b.Edges(cmd.Context(), n.ID, kogral.DirectionIn)
			if err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(render.RenderFile(n, out)); err != nil {
				return err
			}
			for _, e := range in {
				fmt.Fprintf(cmd.OutOrStdout(), "<- %s %s (%g)\n", e.Source, e.Relation, e.Weight)
			}
			return nil
		}}
}

// nodeRef is the node id an argument names: an id as given, a name without
// a '.' (which no id is: ids begin with their scope and a '.') the node of
// that name in the project's graph ("auth-tokens" is demo.cli.auth-tokens
// in graph demo.cli). With no graph in config.yaml, a name is an error
// saying how to name the node.
func (k *kogralCLI) nodeRef(cfg kogralConfig, arg string) (string, error) {
	if strings.Contains(arg, ".") {
		return arg, nil
	}
	if file, _ := k.fileConfig(); file.Graph == "" || cfg.Graph == "" {
		return "", fmt.Errorf("%q is a name, not a node id (ids are <graph>.<name>), and %s sets no graph to find it in: "+
			"pass the node's full id, or set the project's graph with `stratum kogral init --graph <scope>.<name>`", arg, k.configPath())
	}
	return cfg.Graph + "." + arg, nil
}

// nodeRefs are the ids of an edge's two ends (see nodeRef).
func (k *kogralCLI) nodeRefs(cfg kogralConfig, source, target string) (string, string, error) {
	s, err := k.nodeRef(cfg, source)
	if err != nil {
		return "", "", err
	}
	t, err := k.nodeRef(cfg, target)
	return s, t, err
}

func (k *kogralCLI) linkCmd() *cobra.Command {
	var weight float64
	cmd := &cobra.Command{Use: "link <source> <target> <relation>", Short: "Relate two nodes (relates_to, depends_on, implements, extends, supersedes, explains)",
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			source, target, err := k.nodeRefs(cfg, args[0], args[1])
			if err != nil {
				return err
			}
			e, err := b.Link(cmd.Context(), kogral.Edge{Source: source, Target: target, Relation: args[2], Weight: weight})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Linked %s -%s-> %s (%g)\n", e.Source, e.Relation, e.Target, e.Weight)
			return k.refreshEdges(cmd.Context(), b, e.Source)
		}}
	cmd.Flags().Float64Var(&weight, "weight", 1, "edge weight")
	return cmd
}

func (k *kogralCLI) unlinkCmd() *cobra.Command {
	return &cobra.Command{Use: "unlink <source> <target> [relation]", Short: "Remove edges between two nodes", Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			rel := ""
			if len(args) == 3 {
				rel = args[2]
			}
			source, target, err := k.nodeRefs(cfg, args[0], args[1])
			if err != nil {
				return err
			}
			if err := b.Unlink(cmd.Context(), source, target, rel); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Unlinked %s -> %s\n", source, target)
			return k.refreshEdges(cmd.Context(), b, source)
		}}
}

// refreshEdges rewrites the source node's file under .kogral/ with its
// outgoing edges as the graph now has them (after link or unlink), keeping
// the file's own content, so that the next sync finds both sides alike. A
// node without a file there is left alone.
func (k *kogralCLI) refreshEdges(ctx context.Context, b kogral.Backend, id string) error {
	local, err := files.ReadFolder(k.folder(), k.config().Graph)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, n := range local.Nodes {
		if n.ID != id {
			continue
		}
		if _, err := os.Stat(filepath.Join(k.folder(), render.MarkdownPath(n))); err != nil {
			return nil
		}
		out, err := b.Edges(ctx, id, kogral.DirectionOut)
		if err != nil {
			return err
		}
		return files.WriteFolder(k.folder(), render.MarkdownFiles(kogral.Subgraph{Nodes: []kogral.Node{n}, Edges: out}))
	}
	return nil
}

func (k *kogralCLI) graphCmd() *cobra.Command {
	var connected string
	var depth, limit int
	cmd := &cobra.Command{Use: "graph", Short: "The graph in DOT (Graphviz)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			var g kogral.Subgraph
			if connected != "" {
				g, err = b.Connected(cmd.Context(), connected, depth, limit)
			} else {
				g, err = b.Export(cmd.Context(), cfg.Graph)
			}
			if err != nil {
				return err
			}
			if g.Truncated {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: more than %d nodes within %d hops; showing the nearest (--limit)\n", len(g.Nodes), depth)
			}
			_, err = io.WriteString(cmd.OutOrStdout(), render.DOT(g))
			return err
		}}
	cmd.Flags().StringVar(&connected, "connected", "", "only the subgraph around this node")
	cmd.Flags().IntVar(&depth, "depth", 2, "with --connected: how many hops")
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("with --connected: at most this many nodes (default %d)", kogral.DefaultConnectedLimit))
	return cmd
}

func (k *kogralCLI) syncCmd() *cobra.Command {
	var prefer string
	cmd := &cobra.Command{Use: "sync", Short: "Sync .kogral/ files and the graph, both ways (conflicts are reported, not overwritten, unless --prefer)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefer != "" && prefer != files.PreferLocal && prefer != files.PreferRemote {
				return fmt.Errorf("--prefer %q: want local (the files win) or remote (the graph wins)", prefer)
			}
			if _, err := os.Stat(k.folder()); err != nil {
				return fmt.Errorf("no %s folder: run `stratum kogral init`", k.folder())
			}
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := files.Sync(cmd.Context(), b, k.folder(), cfg.Graph, prefer)
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %d, pulled %d, conflicts %d\n", len(rep.Pushed), len(rep.Pulled), len(rep.Conflicts))
			for _, id := range rep.Conflicts {
				fmt.Fprintf(cmd.OutOrStdout(), "  conflict: %s\n", id)
			}
			return err
		}}
	cmd.Flags().StringVar(&prefer, "prefer", "", "on a conflict, take this side: local (the .kogral/ file) or remote (the graph)")
	return cmd
}

func (k *kogralCLI) serveCmd() *cobra.Command {
	var project string
	cmd := &cobra.Command{Use: "serve", Short: "Serve the MCP server over stdio (for desktop MCP clients)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, cfg, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			if project == "" {
				project = cfg.Graph
			}
			return mcpserver.NewServer(b, project).Run(cmd.Context(), &mcp.StdioTransport{})
		}}
	cmd.Flags().StringVar(&project, "project", "", "the project graph the project resources and prompts mean (default: .kogral/config.yaml's)")
	return cmd
}

// configKeys are what `config set` may set.
var configKeys = map[string]func(*kogralConfig, string){
	"graph":   func(c *kogralConfig, v string) { c.Graph = v },
	"api":     func(c *kogralConfig, v string) { c.API = v },
	"api_key": func(c *kogralConfig, v string) { c.APIKey = v },
	"surreal.url": func(c *kogralConfig, v string) {
		c.surreal().URL = v
	},
	"surreal.namespace": func(c *kogralConfig, v string) { c.surreal().Namespace = v },
	"surreal.database":  func(c *kogralConfig, v string) { c.surreal().Database = v },
	"surreal.user":      func(c *kogralConfig, v string) { c.surreal().User = v },
}

func (c *kogralConfig) surreal() *surrealConfig {
	if c.Surreal == nil {
		c.Surreal = &surrealConfig{Namespace: surreal.Namespace, Database: "kogral", User: "root"}
	}
	return c.Surreal
}

func (k *kogralCLI) configCmd() *cobra.Command {
	return &cobra.Command{Use: "config [set <key> <value>]", Short: "Show or set .kogral/config.yaml (graph, api, api_key, surreal.url, …)", Args: cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				eff := k.config()
				if eff.APIKey != "" {
					eff.APIKey = "(set)"
				}
				raw, _ := yaml.Marshal(eff)
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			keys := make([]string, 0, len(configKeys))
			for key := range configKeys {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			if args[0] != "set" || len(args) != 3 {
				return fmt.Errorf("usage: stratum kogral config set <%s> <value>", strings.Join(keys, "|"))
			}
			set, ok := configKeys[args[1]]
			if !ok {
				return fmt.Errorf("unknown key %q: want one of %s", args[1], strings.Join(keys, ", "))
			}
			cfg, err := k.fileConfig()
			if err != nil {
				return err
			}
			set(&cfg, args[2])
			if err := os.MkdirAll(k.folder(), 0o755); err != nil {
				return err
			}
			raw, _ := yaml.Marshal(cfg)
			return writePrivate(k.configPath(), raw)
		}}
}

func (k *kogralCLI) graphsCmd() *cobra.Command {
	return &cobra.Command{Use: "graphs", Short: "List the graphs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, _, err := k.backend(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := b.Graphs(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
			for _, g := range gs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%d nodes\n", g.ID, g.GraphType, g.Nodes)
			}
			return nil
		}}
}

// writePrivate replaces path with data, readable by its owner only (the
// config holds the API key): a new file made 0600 and renamed over the old
// one, so an existing 0644 file does not keep its mode.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".config-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
