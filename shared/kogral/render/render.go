// Package render writes Kogral's subgraphs as files: .kogral/-style
// markdown with YAML frontmatter, a Logseq graph, Graphviz DOT. It reads
// nothing (package files parses), so the functions that only export
// (kogral-api, kogral-mcp) do not link the markdown parser.
package render

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// A node as a file: YAML frontmatter, then the markdown body.
//
//	---
//	id: use-surrealdb
//	type: Decision
//	title: Use SurrealDB
//	tags:
//	  - storage
//	links:
//	  - relation: DependsOn
//	    target: caching
//	    weight: 1
//	---
//	# Use SurrealDB …

// FrontMatter is what a node file's header holds; package files reads it
// back.
type FrontMatter struct {
	ID       string         `yaml:"id"`
	Type     string         `yaml:"type"`
	Title    string         `yaml:"title"`
	Tags     []string       `yaml:"tags,omitempty"`
	Graph    string         `yaml:"graph,omitempty"`
	Created  *time.Time     `yaml:"created,omitempty"`
	Updated  *time.Time     `yaml:"updated,omitempty"`
	Metadata map[string]any `yaml:"metadata,omitempty"`
	Links    []FileLink     `yaml:"links,omitempty"`
	// A decision's alternatives and related decisions, kept in its metadata,
	// are written at the top of the header.
	Alternatives     []kogral.Alternative `yaml:"alternatives,omitempty"`
	RelatedDecisions []string             `yaml:"related_decisions,omitempty"`
}

// FileLink is one outgoing edge in a file's header.
type FileLink struct {
	Relation string  `yaml:"relation"`
	Target   string  `yaml:"target"`
	Weight   float64 `yaml:"weight,omitempty"`
}

// RenderFile writes a node and its outgoing edges as a file.
func RenderFile(n kogral.Node, out []kogral.Edge) []byte {
	var buf bytes.Buffer
	buf.WriteString("---\n")
	writeFrontMatter(&buf, headerOf(n, out))
	buf.WriteString("---\n")
	buf.WriteString(strings.TrimRight(n.Content, "\n"))
	buf.WriteString("\n")
	return buf.Bytes()
}

// headerOf is the header of a node's file.
func headerOf(n kogral.Node, out []kogral.Edge) FrontMatter {
	h := FrontMatter{ID: n.ID, Type: n.NodeType, Title: n.Title, Tags: n.Tags, Graph: n.GraphID, Metadata: n.Metadata}
	if !n.CreatedAt.IsZero() {
		c, u := n.CreatedAt.UTC(), n.UpdatedAt.UTC()
		h.Created, h.Updated = &c, &u
	}
	if n.NodeType == "Decision" && (n.Metadata["alternatives"] != nil || n.Metadata["related_decisions"] != nil) {
		h.Alternatives, _ = kogral.AsAlternatives(n.Metadata["alternatives"])
		h.RelatedDecisions, _ = kogral.AsStrings(n.Metadata["related_decisions"])
		h.Metadata = maps.Clone(n.Metadata)
		delete(h.Metadata, "alternatives")
		delete(h.Metadata, "related_decisions")
	}
	if len(h.Metadata) == 0 {
		h.Metadata = nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target+out[i].Relation < out[j].Target+out[j].Relation })
	for _, e := range out {
		h.Links = append(h.Links, FileLink{Relation: e.Relation, Target: e.Target, Weight: e.Weight})
	}
	return h
}

// FolderOf is where a node type's files live under .kogral/.
func FolderOf(nodeType string) string {
	if nodeType == "Journal" {
		return "journal"
	}
	return strings.ToLower(nodeType) + "s"
}

// MarkdownPath is where a node's markdown file is, relative to its graph's
// folder (.kogral/, or the graph's folder of an export): its type's folder
// and its id as a file name (cut to fit a file system's names).
func MarkdownPath(n kogral.Node) string {
	return filepath.Join(FolderOf(n.NodeType), fileName(n.ID)+".md")
}

// MarkdownFiles renders a subgraph as .kogral/-style files, path → content
// (Markdown without its report).
func MarkdownFiles(g kogral.Subgraph) map[string][]byte {
	return Markdown(g).Files
}

// Markdown renders a subgraph as .kogral/-style files: <type folder>/<id>.md,
// under a folder per graph when the subgraph holds several (files name their
// graph, so an import reads them back into theirs). Every node is written:
// one whose path another took (ids that differ only in case) gets its id's
// short hash added, and is reported. An id over maxFileBytes bytes is cut
// in its file's name (see fileName); the header keeps it whole.
func Markdown(g kogral.Subgraph) Export {
	bySource := map[string][]kogral.Edge{}
	for _, e := range g.Edges {
		bySource[e.Source] = append(bySource[e.Source], e)
	}
	nodes := sortedNodes(g.Nodes)
	ex := newExport(nodes)
	for _, n := range nodes {
		rel := ex.under(n) + filepath.ToSlash(MarkdownPath(n))
		if !ex.claim(rel) {
			rel = ex.under(n) + filepath.ToSlash(filepath.Join(FolderOf(n.NodeType), fileName(n.ID)+"-"+shortHash(n.GraphID+"\x00"+n.ID)+".md"))
			ex.claim(rel)
			ex.Renamed = append(ex.Renamed, Renamed{ID: n.ID, Graph: graphOf(n), Title: n.Title, Path: rel})
		}
		ex.Files[rel] = RenderFile(n, bySource[n.ID])
		ex.Nodes++
	}
	return ex
}

// DOT renders a subgraph for Graphviz.
func DOT(g kogral.Subgraph) string {
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
