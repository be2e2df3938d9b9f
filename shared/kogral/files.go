package kogral

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// ---- Logseq import ------------------------------------------------------------

var (
	wikiLink  = regexp.MustCompile(`\[\[([^\[\]]+)\]\]`)
	hashTag   = regexp.MustCompile(`(?:^|\s)#(?:\[\[([^\]]+)\]\]|([\w/-]+))`)
	property  = regexp.MustCompile(`^\s*([A-Za-z][\w-]*)::\s*(.*)$`)
	taskState = regexp.MustCompile(`^(TODO|DOING|DONE|LATER|NOW|WAITING|CANCELLED)\s`)
)

// Block is a Logseq outline block.
type Block struct {
	Content    string            `json:"content"`
	Properties map[string]string `json:"properties,omitempty"`
	TaskStatus string            `json:"task_status,omitempty"`
	Tags       []string          `json:"tags,omitempty"`
	References []string          `json:"references,omitempty"`
	Children   []Block           `json:"children,omitempty"`
}

// ParseLogseqPage reads a Logseq page: page properties (key:: value lines
// before the first block) and its outline of blocks, parsed as markdown
// lists by goldmark.
func ParseLogseqPage(src []byte) (map[string]string, []Block) {
	props := map[string]string{}
	lines := strings.Split(string(src), "\n")
	i := 0
	for ; i < len(lines); i++ {
		m := property.FindStringSubmatch(lines[i])
		if m == nil {
			break
		}
		props[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
	}
	rest := []byte(strings.Join(lines[i:], "\n"))
	doc := markdown.Parser().Parse(text.NewReader(rest), parser.WithContext(parser.NewContext()))
	var blocks []Block
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if list, ok := n.(*ast.List); ok {
			blocks = append(blocks, listBlocks(list, rest)...)
		}
	}
	return props, blocks
}

func listBlocks(list *ast.List, src []byte) []Block {
	var out []Block
	for item := list.FirstChild(); item != nil; item = item.NextSibling() {
		var b Block
		var texts []string
		for c := item.FirstChild(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok {
				b.Children = append(b.Children, listBlocks(sub, src)...)
				continue
			}
			for i := 0; i < c.Lines().Len(); i++ {
				seg := c.Lines().At(i)
				texts = append(texts, strings.TrimRight(string(seg.Value(src)), "\n"))
			}
		}
		var content []string
		for _, t := range texts {
			if m := property.FindStringSubmatch(t); m != nil {
				if b.Properties == nil {
					b.Properties = map[string]string{}
				}
				b.Properties[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
				continue
			}
			content = append(content, t)
		}
		b.Content = strings.Join(content, "\n")
		if m := taskState.FindStringSubmatch(b.Content); m != nil {
			b.TaskStatus = m[1]
		}
		b.References = references(b.Content)
		b.Tags = tagsIn(b.Content)
		out = append(out, b)
	}
	return out
}

func references(s string) []string {
	var out []string
	for _, m := range wikiLink.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	return out
}

func tagsIn(s string) []string {
	var out []string
	for _, m := range hashTag.FindAllStringSubmatch(s, -1) {
		t := m[1]
		if t == "" {
			t = m[2]
		}
		out = append(out, strings.ToLower(strings.TrimSpace(t)))
	}
	return out
}

func walkBlocks(bs []Block, f func(Block)) {
	for _, b := range bs {
		f(b)
		walkBlocks(b.Children, f)
	}
}

// pageName is a Logseq page's name from its file name (namespaces are
// written a%2Fb or a___b).
func pageName(file string) string {
	name := strings.TrimSuffix(filepath.Base(file), ".md")
	name = strings.ReplaceAll(name, "___", "/")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return name
}

// ImportLogseq reads a Logseq graph folder (pages/ and journals/) into
// nodes of graph: a page is a Note (or the type in its type:: property), a
// journal day a Journal; each [[link]] is a RelatesTo edge, to a page
// created empty when the folder has none, so no link is lost.
func ImportLogseq(dir, graph string) (Subgraph, error) {
	var g Subgraph
	ids := map[string]string{} // lower-case page name → node id
	idOf := func(name string) string {
		key := strings.ToLower(name)
		if id, ok := ids[key]; ok {
			return id
		}
		id := Slug(name)
		ids[key] = id
		return id
	}
	type page struct {
		name, file string
		journal    bool
	}
	var pages []page
	for _, sub := range []string{"pages", "journals"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.md"))
		for _, f := range files {
			pages = append(pages, page{name: pageName(f), file: f, journal: sub == "journals"})
		}
	}
	if len(pages) == 0 {
		return g, invalid("%s: no pages/*.md or journals/*.md: not a Logseq graph", dir)
	}
	edges := map[string]Edge{}
	have := map[string]bool{}
	for _, p := range pages {
		src, err := os.ReadFile(p.file)
		if err != nil {
			return g, err
		}
		props, blocks := ParseLogseqPage(src)
		name := p.name
		if title, ok := props["title"]; ok && title != "" {
			name = title
		}
		if p.journal {
			if d, err := time.Parse("2006_01_02", p.name); err == nil {
				name = d.Format("2006-01-02")
			}
		}
		id := idOf(name)
		in := NodeInput{ID: id, NodeType: "Note", Title: name, Content: strings.TrimSpace(string(src)), GraphID: graph,
			Metadata: map[string]any{"source": "logseq", "file": filepath.ToSlash(strings.TrimPrefix(p.file, dir+string(filepath.Separator)))}}
		if p.journal {
			in.NodeType = "Journal"
		}
		if t, ok := props["type"]; ok {
			if nt, err := NodeType(t); err == nil {
				in.NodeType = nt
			}
		}
		for k, v := range props {
			if k != "tags" && k != "type" && k != "title" {
				in.Metadata[k] = v
			}
		}
		if tags, ok := props["tags"]; ok {
			for _, t := range strings.Split(tags, ",") {
				if t = strings.Trim(strings.TrimSpace(t), "[]#"); t != "" {
					in.Tags = append(in.Tags, strings.ToLower(t))
				}
			}
		}
		var tasks []string
		walkBlocks(blocks, func(b Block) {
			in.Tags = append(in.Tags, b.Tags...)
			if b.TaskStatus != "" {
				tasks = append(tasks, b.TaskStatus)
			}
			for _, ref := range b.References {
				target := idOf(ref)
				if target == id {
					continue
				}
				key := id + ">" + target
				e := edges[key]
				e.Source, e.Target, e.Relation = id, target, "RelatesTo"
				e.Weight++
				edges[key] = e
			}
		})
		for _, ref := range references(strings.Join(propsValues(props), " ")) {
			if target := idOf(ref); target != id {
				key := id + ">" + target
				e := edges[key]
				e.Source, e.Target, e.Relation = id, target, "RelatesTo"
				e.Weight++
				edges[key] = e
			}
		}
		if len(tasks) > 0 {
			in.Metadata["tasks"] = tasks
		}
		if err := in.Check(); err != nil {
			return g, fmt.Errorf("%s: %w", p.file, err)
		}
		have[id] = true
		g.Nodes = append(g.Nodes, Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags, GraphID: in.GraphID})
	}
	// Pages that are only linked to exist in Logseq too: keep them.
	for key, id := range ids {
		if !have[id] {
			have[id] = true
			g.Nodes = append(g.Nodes, Node{ID: id, NodeType: "Note", Title: key, Content: "", GraphID: graph,
				Metadata: map[string]any{"source": "logseq", "placeholder": true}, Tags: []string{}})
		}
	}
	for _, e := range edges {
		g.Edges = append(g.Edges, e)
	}
	sort.Slice(g.Edges, func(i, j int) bool { return g.Edges[i].Source+g.Edges[i].Target < g.Edges[j].Source+g.Edges[j].Target })
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	return g, nil
}

func propsValues(p map[string]string) []string {
	out := make([]string, 0, len(p))
	for _, v := range p {
		out = append(out, v)
	}
	return out
}

// ---- exports ------------------------------------------------------------------

// DOT renders a subgraph for Graphviz.
func DOT(g Subgraph) string {
	shapes := map[string]string{"Note": "note", "Decision": "diamond", "Guideline": "box", "Pattern": "component",
		"Journal": "folder", "Execution": "cds"}
	var b strings.Builder
	b.WriteString("digraph kogral {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n")
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %q [label=%q, shape=%s];\n", n.ID, n.Title, shapes[n.NodeType])
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "  %q -> %q [label=%q, weight=%g];\n", e.Source, e.Target, e.Relation, e.Weight)
	}
	b.WriteString("}\n")
	return b.String()
}

// MarkdownFiles renders a subgraph as .kogral/-style files, path → content.
func MarkdownFiles(g Subgraph) map[string][]byte {
	out := map[string][]byte{}
	bySource := map[string][]Edge{}
	for _, e := range g.Edges {
		bySource[e.Source] = append(bySource[e.Source], e)
	}
	for _, n := range g.Nodes {
		out[filepath.ToSlash(filepath.Join(FolderOf(n.NodeType), n.ID+".md"))] = RenderFile(n, bySource[n.ID])
	}
	return out
}

// ReadFolder reads every node file under dir (a .kogral/ folder or an
// export); a file that does not parse is an error naming it.
func ReadFolder(dir string) (Subgraph, error) {
	var g Subgraph
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		in, edges, err := ParseFile(rel, src)
		if err != nil {
			return err
		}
		if in.ID == "" {
			in.ID = strings.TrimSuffix(filepath.Base(path), ".md")
			for i := range edges {
				edges[i].Source = in.ID
			}
		}
		g.Nodes = append(g.Nodes, Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags, GraphID: in.GraphID})
		g.Edges = append(g.Edges, edges...)
		return nil
	})
	return g, err
}

// WriteFolder writes files under dir.
func WriteFolder(dir string, files map[string][]byte) error {
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ---- sync -------------------------------------------------------------------------

// syncState is .kogral/.sync.json: the content hash of each node as of the
// last sync, so that a change can be told apart from a conflict.
type syncState struct {
	Hashes map[string]string `json:"hashes"`
}

// SyncReport says what a sync did.
type SyncReport struct {
	Pushed    []string `json:"pushed"`
	Pulled    []string `json:"pulled"`
	Conflicts []string `json:"conflicts"`
}

// Sync reconciles the folder dir (the project graph's files) with the
// backend, both ways: a side that changed since the last sync wins; when
// both changed differently, the node is a conflict and neither is touched.
func Sync(ctx context.Context, b Backend, dir, graph string) (SyncReport, error) {
	rep := SyncReport{Pushed: []string{}, Pulled: []string{}, Conflicts: []string{}}
	statePath := filepath.Join(dir, ".sync.json")
	var st syncState
	if raw, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return rep, fmt.Errorf("%s: %w", statePath, err)
		}
	}
	if st.Hashes == nil {
		st.Hashes = map[string]string{}
	}
	local, err := ReadFolder(dir)
	if err != nil {
		return rep, err
	}
	remote, err := b.Export(ctx, graph)
	if err != nil {
		return rep, err
	}
	type side struct {
		node  Node
		edges []Edge
		hash  string
	}
	index := func(g Subgraph) map[string]*side {
		m := map[string]*side{}
		for _, n := range g.Nodes {
			if n.GraphID == "" {
				n.GraphID = graph
			}
			if n.GraphID != graph {
				continue
			}
			m[n.ID] = &side{node: n}
		}
		for _, e := range g.Edges {
			if s, ok := m[e.Source]; ok {
				s.edges = append(s.edges, e)
			}
		}
		for _, s := range m {
			in := NodeInput{ID: s.node.ID, NodeType: s.node.NodeType, Title: s.node.Title, Content: s.node.Content, Metadata: s.node.Metadata, Tags: s.node.Tags, GraphID: graph}
			_ = in.Check()
			s.hash = ContentHash(in, s.edges)
		}
		return m
	}
	files, db := index(local), index(remote)
	ids := map[string]bool{}
	for id := range files {
		ids[id] = true
	}
	for id := range db {
		ids[id] = true
	}
	var push Subgraph
	for id := range ids {
		f, r, base := files[id], db[id], st.Hashes[id]
		switch {
		case f != nil && r != nil && f.hash == r.hash:
			st.Hashes[id] = f.hash
		case f != nil && (r == nil || r.hash == base) && f.hash != base:
			push.Nodes = append(push.Nodes, f.node)
			push.Edges = append(push.Edges, f.edges...)
			rep.Pushed = append(rep.Pushed, id)
			st.Hashes[id] = f.hash
		case r != nil && (f == nil || f.hash == base) && r.hash != base:
			pull := MarkdownFiles(Subgraph{Nodes: []Node{r.node}, Edges: r.edges})
			if err := WriteFolder(dir, pull); err != nil {
				return rep, err
			}
			rep.Pulled = append(rep.Pulled, id)
			st.Hashes[id] = r.hash
		case f != nil && r != nil:
			rep.Conflicts = append(rep.Conflicts, id)
		}
	}
	if len(push.Nodes) > 0 {
		if _, err := b.Import(ctx, push); err != nil {
			return rep, err
		}
	}
	sort.Strings(rep.Pushed)
	sort.Strings(rep.Pulled)
	sort.Strings(rep.Conflicts)
	raw, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(statePath, raw, 0o644); err != nil {
		return rep, err
	}
	if len(rep.Conflicts) > 0 {
		return rep, &ConflictError{Msg: fmt.Sprintf("%d nodes changed both in files and in the graph since the last sync: %s (edit one side to match, then sync again)",
			len(rep.Conflicts), strings.Join(rep.Conflicts, ", "))}
	}
	return rep, nil
}
