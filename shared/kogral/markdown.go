package kogral

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"go.abhg.dev/goldmark/frontmatter"
	"gopkg.in/yaml.v3"
)

// A node as a file: YAML frontmatter, then the markdown body.
//
//	---
//	id: use-surrealdb
//	type: Decision
//	title: Use SurrealDB
//	tags: [storage]
//	links:
//	  - {relation: DependsOn, target: caching, weight: 1}
//	---
//	# Use SurrealDB …

// frontMatter is what a node file's header holds.
type frontMatter struct {
	ID       string         `yaml:"id"`
	Type     string         `yaml:"type"`
	Title    string         `yaml:"title"`
	Tags     []string       `yaml:"tags,omitempty"`
	Graph    string         `yaml:"graph,omitempty"`
	Created  *time.Time     `yaml:"created,omitempty"`
	Updated  *time.Time     `yaml:"updated,omitempty"`
	Metadata map[string]any `yaml:"metadata,omitempty"`
	Links    []fileLink     `yaml:"links,omitempty"`
	// A decision's alternatives and related decisions, kept in its metadata,
	// are written at the top of the header.
	Alternatives     []Alternative `yaml:"alternatives,omitempty"`
	RelatedDecisions []string      `yaml:"related_decisions,omitempty"`
}

type fileLink struct {
	Relation string  `yaml:"relation"`
	Target   string  `yaml:"target"`
	Weight   float64 `yaml:"weight,omitempty"`
}

// ParseError names the file and line of a frontmatter problem.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// fileParser parses files. It is made where a file is read, not held in a
// package variable, so that a function that never reads a file (kogral-api)
// does not link the frontmatter extension's YAML and TOML decoders.
func fileParser() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(&frontmatter.Extender{}))
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// ParseFile reads a node file: frontmatter through goldmark's frontmatter
// extension, the body as the markdown that follows it.
func ParseFile(name string, src []byte) (NodeInput, []Edge, error) {
	var h frontMatter
	return parseFileInto(name, src, &h)
}

// parseFileInto is ParseFile, the header read into h (its dates too).
func parseFileInto(name string, src []byte, hp *frontMatter) (NodeInput, []Edge, error) {
	ctx := parser.NewContext()
	fileParser().Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	fm := frontmatter.Get(ctx)
	if fm == nil {
		return NodeInput{}, nil, &ParseError{File: name, Line: 1, Msg: "no frontmatter: a node file starts with a --- YAML block"}
	}
	h := hp
	if err := fm.Decode(h); err != nil {
		pe := &ParseError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			pe.Line = n + 1 // the YAML starts on the line after the opening ---
			pe.Msg = strings.TrimSpace(yamlLine.ReplaceAllString(pe.Msg, ""))
			pe.Msg = strings.TrimPrefix(pe.Msg, ": ")
		}
		return NodeInput{}, nil, pe
	}
	in := NodeInput{ID: h.ID, NodeType: h.Type, Title: h.Title, Tags: h.Tags, GraphID: h.Graph, Metadata: h.Metadata,
		Content: string(body(src))}
	if len(h.Alternatives) > 0 || len(h.RelatedDecisions) > 0 {
		if in.Metadata == nil {
			in.Metadata = map[string]any{}
		}
		if len(h.Alternatives) > 0 {
			in.Metadata["alternatives"] = h.Alternatives
		}
		if len(h.RelatedDecisions) > 0 {
			in.Metadata["related_decisions"] = h.RelatedDecisions
		}
	}
	if in.NodeType == "" {
		in.NodeType = "Note"
	}
	if err := in.Check(); err != nil {
		return NodeInput{}, nil, &ParseError{File: name, Msg: err.Error()}
	}
	var edges []Edge
	for i, l := range h.Links {
		e := Edge{Source: in.ID, Target: l.Target, Relation: l.Relation, Weight: l.Weight}
		if err := CheckEdge(&e); err != nil {
			return NodeInput{}, nil, &ParseError{File: name, Msg: fmt.Sprintf("links[%d]: %v", i, err)}
		}
		edges = append(edges, e)
	}
	return in, edges, nil
}

// body is the source after the frontmatter's closing --- line, exactly as
// RenderFile wrote it: a body that starts with "---" or with an empty "-"
// block keeps it.
func body(src []byte) []byte {
	lines := bytes.SplitAfter(src, []byte("\n"))
	if len(lines) == 0 || strings.TrimSpace(string(lines[0])) != "---" {
		return nil
	}
	off := len(lines[0])
	for _, l := range lines[1:] {
		off += len(l)
		if strings.TrimSpace(string(l)) == "---" {
			return bytes.TrimRight(src[off:], "\n")
		}
	}
	return nil
}

// RenderFile writes a node and its outgoing edges as a file.
func RenderFile(n Node, out []Edge) []byte {
	h := frontMatter{ID: n.ID, Type: n.NodeType, Title: n.Title, Tags: n.Tags, Graph: n.GraphID, Metadata: n.Metadata}
	if !n.CreatedAt.IsZero() {
		c, u := n.CreatedAt.UTC(), n.UpdatedAt.UTC()
		h.Created, h.Updated = &c, &u
	}
	if n.NodeType == "Decision" && (n.Metadata["alternatives"] != nil || n.Metadata["related_decisions"] != nil) {
		h.Alternatives, _ = asAlternatives(n.Metadata["alternatives"])
		h.RelatedDecisions, _ = asStrings(n.Metadata["related_decisions"])
		h.Metadata = maps.Clone(n.Metadata)
		delete(h.Metadata, "alternatives")
		delete(h.Metadata, "related_decisions")
	}
	if len(h.Metadata) == 0 {
		h.Metadata = nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target+out[i].Relation < out[j].Target+out[j].Relation })
	for _, e := range out {
		h.Links = append(h.Links, fileLink{Relation: e.Relation, Target: e.Target, Weight: e.Weight})
	}
	var buf bytes.Buffer
	buf.WriteString("---\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	_ = enc.Encode(h)
	_ = enc.Close()
	buf.WriteString("---\n")
	buf.WriteString(strings.TrimRight(n.Content, "\n"))
	buf.WriteString("\n")
	return buf.Bytes()
}

// FolderOf is where a node type's files live under .kogral/.
func FolderOf(nodeType string) string {
	if nodeType == "Journal" {
		return "journal"
	}
	return strings.ToLower(nodeType) + "s"
}

// ContentHash identifies what a node says (not when it was written): sync
// compares it to tell which side changed.
func ContentHash(in NodeInput, links []Edge) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", in.ID, in.NodeType, in.Title, strings.TrimRight(in.Content, "\n"), strings.Join(in.Tags, ","))
	keys := make([]string, 0, len(in.Metadata))
	for k := range in.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%v\x00", k, in.Metadata[k])
	}
	ls := make([]string, len(links))
	for i, l := range links {
		ls[i] = fmt.Sprintf("%s>%s>%s>%g", l.Source, l.Relation, l.Target, l.Weight)
	}
	sort.Strings(ls)
	fmt.Fprint(h, strings.Join(ls, "|"))
	return hex.EncodeToString(h.Sum(nil))[:32]
}
