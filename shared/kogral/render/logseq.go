package render

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// ExportLogseq writes a subgraph as a Logseq graph folder, path → content
// (Logseq without its report).
func ExportLogseq(g kogral.Subgraph) map[string][]byte {
	return Logseq(g).Files
}

// Logseq writes a subgraph as a Logseq graph folder, under a folder per
// graph when it holds several (an import of that folder reads each back
// into its graph). A page imported from Logseq goes back to the file it
// came from, its content as it was; a page only linked to has no file (the
// import makes it again). Every other node is a page named by its title,
// with page properties an import reads back: title::, type:: (not a Note),
// tags:: and, for a decision, status::, alternatives:: (JSON) and
// related_decisions:: / supersedes:: naming their pages. A node whose file
// or page name another node of its graph has (two decisions of one title;
// names compared without case, as Logseq does) is written as "Title
// (id)", its own title kept in kogral-title::, and reported. Page names
// are kept per graph: a link to a node of another graph of the export is
// written by the node's id, as to a node outside it (a page name would
// make a page of that name in the linking graph). A file name is at most
// maxFileBytes (see fileName); the page's name is in its title::.
func Logseq(g kogral.Subgraph) Export {
	var pages []kogral.Node
	for _, n := range sortedNodes(g.Nodes) {
		if p, _ := n.Metadata["placeholder"].(bool); !p {
			pages = append(pages, n)
		}
	}
	ex := newExport(pages)
	names := map[string]map[string]string{} // graph → node id → its page name, for links written by id
	name := func(n kogral.Node) map[string]string {
		if names[graphOf(n)] == nil {
			names[graphOf(n)] = map[string]string{}
		}
		return names[graphOf(n)]
	}
	var made []kogral.Node
	for _, n := range pages {
		rel, _ := n.Metadata["file"].(string)
		if !pageFile(rel) || !ex.claim(ex.under(n)+rel) {
			made = append(made, n)
			continue
		}
		ex.claim(ex.under(n) + "\x00" + n.Title)
		name(n)[n.ID] = n.Title
		ex.Files[ex.under(n)+rel] = []byte(n.Content + "\n")
		ex.Nodes++
	}
	paths := make([]string, len(made))
	for i, n := range made {
		paths[i], name(n)[n.ID] = ex.pageOf(n)
	}
	for i, n := range made {
		ex.Files[paths[i]] = madePage(n, names[graphOf(n)])
		ex.Nodes++
	}
	return ex
}

// pageFile reports a file an imported page may be written back to: a page
// or journal file (.md or .org) under pages/ or journals/, as Logseq keeps
// them, each name within a file system's limits. metadata.file is whatever
// the node's writer set: anything else (logseq/config.edn, a custom.js)
// would land in every exporter's folder.
func pageFile(rel string) bool {
	segs := strings.Split(rel, "/")
	if len(segs) < 2 || segs[0] != "pages" && segs[0] != "journals" || strings.ContainsAny(rel, "\\\x00") {
		return false
	}
	for _, seg := range segs[1:] {
		if seg == "" || strings.HasPrefix(seg, ".") || len(seg) > 255 {
			return false
		}
	}
	return strings.HasSuffix(rel, ".md") || strings.HasSuffix(rel, ".org")
}

// pageOf names a node's page and its file: its title (a journal's day),
// or, when that is taken, "Title (id)", reported. The name has no control
// characters; its file, no '/' ("___", as Logseq writes namespaces) and at
// most maxFileBytes bytes.
func (e *Export) pageOf(n kogral.Node) (string, string) {
	if n.NodeType == "Journal" {
		if d, err := time.Parse("2006-01-02", n.Title); err == nil {
			rel := e.under(n) + "journals/" + d.Format("2006_01_02") + ".md"
			if e.claim(rel) {
				return rel, n.Title
			}
		}
	}
	title := replaceControl(oneLine(n.Title), ' ') // a page name
	name := title
	short := strings.TrimPrefix(n.ID, graphOf(n)+".")
	for i := 0; ; i++ {
		if i == 1 {
			name = title + " (" + short + ")"
		} else if i > 1 {
			name = title + " (" + short + "-" + shortHash(n.ID+strings.Repeat("+", i)) + ")"
		}
		rel := e.under(n) + "pages/" + fileName(strings.ReplaceAll(name, "/", "___")) + ".md"
		if key := e.under(n) + "\x00" + name; e.free(key) && e.free(rel) {
			e.claim(key)
			e.claim(rel)
			if i > 0 {
				e.Renamed = append(e.Renamed, Renamed{ID: n.ID, Graph: graphOf(n), Title: n.Title, Path: rel, Name: name})
			}
			return rel, name
		}
	}
}

var pageLink = regexp.MustCompile(`\[\[([^\[\]]+)\]\]`)

// madePage is a node's Logseq page: its properties, then its content, the
// links written by a node's id ([[use-nats]]) written by its page's name.
func madePage(n kogral.Node, names map[string]string) []byte {
	name := names[n.ID]
	var b strings.Builder
	prop := func(k, v string) {
		if v = oneLine(v); v != "" {
			b.WriteString(k + ":: " + v + "\n")
		}
	}
	journal := n.NodeType == "Journal" && name == n.Title
	if !journal {
		prop("title", name)
		if n.NodeType != "Note" {
			prop("type", n.NodeType)
		}
	}
	if name != oneLine(n.Title) {
		prop("kogral-title", n.Title)
	}
	prop("tags", strings.Join(n.Tags, ", "))
	if n.NodeType == "Decision" {
		decisionProps(n, names, prop)
	}
	content := pageLink.ReplaceAllStringFunc(n.Content, func(l string) string {
		if to, ok := names[l[2:len(l)-2]]; ok {
			return "[[" + to + "]]"
		}
		return l
	})
	if content = strings.TrimRight(content, "\n"); content != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(content + "\n")
	}
	return []byte(b.String())
}

// decisionProps writes a decision's status, alternatives and the pages of
// the decisions it relates to and supersedes (a decision not in the export
// by its id, as text).
func decisionProps(n kogral.Node, names map[string]string, prop func(k, v string)) {
	if s, ok := n.Metadata["status"].(string); ok {
		prop("status", s)
	}
	if alts, err := kogral.AsAlternatives(n.Metadata["alternatives"]); err == nil && len(alts) > 0 {
		raw, _ := json.Marshal(alts)
		prop("alternatives", string(raw))
	}
	page := func(id string) string {
		if to, ok := names[id]; ok {
			return "[[" + to + "]]"
		}
		return id
	}
	related, _ := kogral.AsStrings(n.Metadata["related_decisions"])
	for i, id := range related {
		related[i] = page(id)
	}
	prop("related_decisions", strings.Join(related, ", "))
	if s, ok := n.Metadata["supersedes"].(string); ok && s != "" {
		prop("supersedes", page(s))
	}
}

// oneLine is s as a property value or page name: its line breaks spaces.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}
