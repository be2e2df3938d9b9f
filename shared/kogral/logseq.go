package kogral

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// ---- Logseq ---------------------------------------------------------------------
//
// A Logseq page becomes one node whose content is the page's file, verbatim;
// its blocks (the seed's Block) are read from that content whenever they are
// asked for (GET /nodes/{id}/blocks, search hits), so they cannot drift from
// it, and an export writes the same file back: import → export → import
// loses nothing.

var (
	wikiLink  = regexp.MustCompile(`\[\[([^\[\]]+)\]\]`)
	blockRef  = regexp.MustCompile(`\(\(([0-9a-fA-F-]{8,64})\)\)`)
	hashTag   = regexp.MustCompile(`(?:^|\s)#(?:\[\[([^\]]+)\]\]|([\w/-]+))`)
	property  = regexp.MustCompile(`^\s*([A-Za-z][\w-]*)::\s*(.*)$`)
	taskState = regexp.MustCompile(`^(TODO|DOING|DONE|LATER|NOW|WAITING|CANCELLED|CANCELED)(?:\s|$)`)
)

// TaskStates are Logseq's task markers (the seed's TaskStatus).
var TaskStates = []string{"TODO", "DOING", "DONE", "LATER", "NOW", "WAITING", "CANCELLED"}

// Block is a Logseq outline block (the seed's Block). ID is its `id::`
// property when it has one (the uuid other blocks reference it by), else
// its position in the page ("2.1": the first child of the second block).
// References are the pages it links ([[page]], also inside {{embed}}) and
// the blocks it references, written ((uuid)). Line is where it starts in
// the page's file.
type Block struct {
	ID         string            `json:"id"`
	Content    string            `json:"content"`
	Children   []Block           `json:"children"`
	Properties map[string]string `json:"properties"`
	TaskStatus string            `json:"task_status,omitempty"`
	Tags       []string          `json:"tags"`
	References []string          `json:"references"`
	Line       int               `json:"line"`
}

// outlineParser reads a page's outline: plain CommonMark, without the
// frontmatter extension that files need.
var outlineParser = goldmark.DefaultParser()

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
	doc := outlineParser.Parse(text.NewReader(rest), parser.WithContext(parser.NewContext()))
	p := outline{src: rest, firstLine: i + 1}
	for off, c := range rest {
		if c == '\n' {
			p.newlines = append(p.newlines, off)
		}
	}
	var blocks []Block
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if list, ok := n.(*ast.List); ok {
			blocks = append(blocks, p.blocks(list, "")...)
		}
	}
	return props, blocks
}

// outline turns goldmark lists into blocks.
type outline struct {
	src       []byte
	firstLine int   // the line of src's first byte in the page
	newlines  []int // the offsets of src's line ends
}

// line is the page line holding src[offset].
func (p outline) line(offset int) int {
	n, _ := slices.BinarySearch(p.newlines, offset)
	return p.firstLine + n
}

func (p outline) blocks(list *ast.List, prefix string) []Block {
	var out []Block
	for item := list.FirstChild(); item != nil; item = item.NextSibling() {
		pos := fmt.Sprintf("%s%d", prefix, len(out)+1)
		b := Block{ID: pos, Properties: map[string]string{}, Children: []Block{}, Tags: []string{}, References: []string{}}
		var texts []string
		for c := item.FirstChild(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok {
				b.Children = append(b.Children, p.blocks(sub, pos+".")...)
				continue
			}
			for i := 0; i < c.Lines().Len(); i++ {
				seg := c.Lines().At(i)
				if b.Line == 0 {
					b.Line = p.line(seg.Start)
				}
				texts = append(texts, strings.TrimRight(string(seg.Value(p.src)), "\n"))
			}
		}
		var content []string
		for _, t := range texts {
			if m := property.FindStringSubmatch(t); m != nil {
				b.Properties[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
				continue
			}
			content = append(content, t)
		}
		if id := b.Properties["id"]; id != "" {
			b.ID = id
		}
		b.Content = strings.Join(content, "\n")
		if m := taskState.FindStringSubmatch(b.Content); m != nil {
			b.TaskStatus = strings.Replace(m[1], "CANCELED", "CANCELLED", 1)
		}
		b.References = references(b.Content)
		b.Tags = tagsIn(b.Content)
		out = append(out, b)
	}
	return out
}

// references lists the pages ([[name]]) and blocks (((uuid))) s refers to.
func references(s string) []string {
	out := []string{}
	for _, m := range wikiLink.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	for _, m := range blockRef.FindAllStringSubmatch(s, -1) {
		out = append(out, "(("+strings.ToLower(m[1])+"))")
	}
	return out
}

func tagsIn(s string) []string {
	out := []string{}
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

// FindBlock finds a block by id in an outline.
func FindBlock(bs []Block, id string) (Block, bool) {
	for _, b := range bs {
		if b.ID == id {
			return b, true
		}
		if c, ok := FindBlock(b.Children, id); ok {
			return c, true
		}
	}
	return Block{}, false
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

// Warning is a problem an import got past, at a file and line.
type Warning struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// logseqPage is one file of a Logseq graph as the import reads it.
type logseqPage struct {
	rel     string // path under the graph's folder, with slashes
	id      string
	props   map[string]string
	blocks  []Block
	journal bool
}

// logseqImport holds what an import has found so far.
type logseqImport struct {
	graph     string
	ids       map[string]string // lower-case page name → node id
	blockPage map[string]string // block uuid → the id of its page
	edges     map[string]Edge
	warnings  []Warning
}

func (im *logseqImport) idOf(name string) string {
	key := strings.ToLower(name)
	if id, ok := im.ids[key]; ok {
		return id
	}
	id := Slug(name)
	im.ids[key] = id
	return id
}

// ImportLogseq reads a Logseq graph folder (pages/ and journals/) into
// nodes of graph: a page is a Note (or the type in its type:: property), a
// journal day a Journal, its content the file as it is. Each [[link]] (also
// in an embed) is a RelatesTo edge, to a page created empty when the folder
// has none, so no link is lost; so is each ((block reference)) to a block of
// another page. A reference to a block that no page has is a warning naming
// its file and line, not an error.
func ImportLogseq(dir, graph string) (Subgraph, []Warning, error) {
	var files []string
	for _, sub := range []string{"pages", "journals"} {
		found, _ := filepath.Glob(filepath.Join(dir, sub, "*.md"))
		files = append(files, found...)
	}
	if len(files) == 0 {
		return Subgraph{}, nil, invalid("%s: no pages/*.md or journals/*.md: not a Logseq graph", dir)
	}
	sort.Strings(files)
	im := &logseqImport{graph: graph, ids: map[string]string{}, blockPage: map[string]string{}, edges: map[string]Edge{}}
	var g Subgraph
	pages := make([]logseqPage, 0, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return Subgraph{}, nil, fmt.Errorf("logseq import: %w", err)
		}
		rel, _ := filepath.Rel(dir, f)
		p, n, err := im.page(filepath.ToSlash(rel), src)
		if err != nil {
			return Subgraph{}, nil, err
		}
		pages = append(pages, p)
		g.Nodes = append(g.Nodes, n)
	}
	for _, p := range pages {
		im.link(p)
	}
	g.Nodes = append(g.Nodes, im.placeholders(g.Nodes)...)
	for _, e := range im.edges {
		g.Edges = append(g.Edges, e)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		return g.Edges[i].Source+">"+g.Edges[i].Target < g.Edges[j].Source+">"+g.Edges[j].Target
	})
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	return g, im.warnings, nil
}

// page reads one file into its node, and notes its blocks' uuids.
func (im *logseqImport) page(rel string, src []byte) (logseqPage, Node, error) {
	p := logseqPage{rel: rel, journal: strings.HasPrefix(rel, "journals/")}
	p.props, p.blocks = ParseLogseqPage(src)
	name := pageName(rel)
	if title := p.props["title"]; title != "" {
		name = title
	}
	if p.journal {
		if d, err := time.Parse("2006_01_02", pageName(rel)); err == nil {
			name = d.Format("2006-01-02")
		}
	}
	p.id = im.idOf(name)
	in := NodeInput{ID: p.id, NodeType: "Note", Title: name, Content: strings.TrimRight(string(src), "\n"), GraphID: im.graph,
		Metadata: map[string]any{"source": "logseq", "file": rel}}
	if p.journal {
		in.NodeType = "Journal"
	}
	if nt, err := NodeType(p.props["type"]); err == nil {
		in.NodeType = nt
	}
	for k, v := range p.props {
		if k != "tags" && k != "type" && k != "title" {
			in.Metadata[k] = v
		}
	}
	for _, t := range strings.Split(p.props["tags"], ",") {
		if t = strings.Trim(strings.TrimSpace(t), "[]#"); t != "" {
			in.Tags = append(in.Tags, strings.ToLower(t))
		}
	}
	var tasks []any
	walkBlocks(p.blocks, func(b Block) {
		in.Tags = append(in.Tags, b.Tags...)
		if b.TaskStatus != "" {
			tasks = append(tasks, b.TaskStatus)
		}
		if uuid := strings.ToLower(b.Properties["id"]); uuid != "" {
			im.blockPage[uuid] = p.id
		}
	})
	if len(tasks) > 0 {
		in.Metadata["tasks"] = tasks
	}
	if err := in.Check(); err != nil {
		return p, Node{}, &ParseError{File: rel, Msg: err.Error()}
	}
	return p, Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags, GraphID: in.GraphID}, nil
}

// link adds a page's edges: its [[links]] and the pages of the blocks it
// references; a reference to no known block is a warning.
func (im *logseqImport) link(p logseqPage) {
	add := func(target string) {
		if target == p.id {
			return
		}
		key := p.id + ">" + target
		e := im.edges[key]
		e.Source, e.Target, e.Relation = p.id, target, "RelatesTo"
		e.Weight++
		im.edges[key] = e
	}
	resolve := func(refs []string, line int) {
		for _, ref := range refs {
			uuid, isBlock := strings.CutPrefix(ref, "((")
			if !isBlock {
				add(im.idOf(ref))
				continue
			}
			uuid = strings.TrimSuffix(uuid, "))")
			if page, ok := im.blockPage[uuid]; ok {
				add(page)
			} else {
				im.warnings = append(im.warnings, Warning{File: p.rel, Line: line,
					Msg: fmt.Sprintf("block reference ((%s)) matches no block of the graph: kept as text, not linked", uuid)})
			}
		}
	}
	keys := make([]string, 0, len(p.props))
	for k := range p.props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		resolve(references(p.props[k]), i+1)
	}
	walkBlocks(p.blocks, func(b Block) { resolve(b.References, b.Line) })
}

// placeholders are the pages only linked to: Logseq has them too.
func (im *logseqImport) placeholders(have []Node) []Node {
	seen := map[string]bool{}
	for _, n := range have {
		seen[n.ID] = true
	}
	var out []Node
	for key, id := range im.ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, Node{ID: id, NodeType: "Note", Title: key, Content: "", GraphID: im.graph,
				Metadata: map[string]any{"source": "logseq", "placeholder": true}, Tags: []string{}})
		}
	}
	return out
}

// ExportLogseq writes the Logseq pages of a subgraph back as a Logseq graph
// folder, path → content: each imported page to the file it came from, with
// its content as it was; a page only linked to has no file (the import
// makes it again). Other nodes are written as pages named by their titles.
func ExportLogseq(g Subgraph) map[string][]byte {
	out := map[string][]byte{}
	for _, n := range g.Nodes {
		if p, _ := n.Metadata["placeholder"].(bool); p {
			continue
		}
		rel, _ := n.Metadata["file"].(string)
		if rel == "" || strings.Contains(rel, "..") {
			rel = "pages/" + strings.ReplaceAll(n.Title, "/", "___") + ".md"
			if n.NodeType == "Journal" {
				if d, err := time.Parse("2006-01-02", n.Title); err == nil {
					rel = "journals/" + d.Format("2006_01_02") + ".md"
				}
			}
		}
		out[rel] = []byte(n.Content + "\n")
	}
	return out
}
