// Package files reads and writes Kogral on disk: node files (markdown with
// YAML frontmatter, through goldmark), .kogral/ folders and their sync, Logseq
// graphs, and the batched import that sends a read graph to a Backend. Only
// the CLI links it; the functions export through package render.
package files

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"go.abhg.dev/goldmark/frontmatter"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/render"
)

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
func ParseFile(name string, src []byte) (kogral.NodeInput, []kogral.Edge, error) {
	var h render.FrontMatter
	return parseFileInto(name, src, &h, "")
}

// parseFileInto is ParseFile, the header read into h (its dates too); a
// header naming no graph puts the node in graph (when not "").
func parseFileInto(name string, src []byte, hp *render.FrontMatter, graph string) (kogral.NodeInput, []kogral.Edge, error) {
	ctx := parser.NewContext()
	fileParser().Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	fm := frontmatter.Get(ctx)
	if fm == nil {
		return kogral.NodeInput{}, nil, &ParseError{File: name, Line: 1, Msg: "no frontmatter: a node file starts with a --- YAML block"}
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
		return kogral.NodeInput{}, nil, pe
	}
	in := kogral.NodeInput{ID: h.ID, NodeType: h.Type, Title: h.Title, Tags: h.Tags, GraphID: cmp.Or(h.Graph, graph), Metadata: h.Metadata,
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
		return kogral.NodeInput{}, nil, &ParseError{File: name, Msg: err.Error()}
	}
	var edges []kogral.Edge
	for i, l := range h.Links {
		e := kogral.Edge{Source: in.ID, Target: l.Target, Relation: l.Relation, Weight: l.Weight}
		if err := kogral.CheckEdge(&e); err != nil {
			return kogral.NodeInput{}, nil, &ParseError{File: name, Msg: fmt.Sprintf("links[%d]: %v", i, err)}
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

// ContentHash identifies what a node says (not when it was written): sync
// compares it to tell which side changed.
func ContentHash(in kogral.NodeInput, links []kogral.Edge) string {
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
