// Package kogral is Kogral: a team's notes, decisions (ADRs), guidelines,
// patterns, journals and agent executions as a graph in SurrealDB, with
// full-text and semantic search, guideline inheritance, markdown files
// (.kogral/) kept in sync both ways, Logseq import, exports to markdown,
// JSON and DOT, and an MCP server (spec seed, Kogral).
package kogral

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Node types and relations, as the seed names them.
var (
	NodeTypes     = []string{"Note", "Decision", "Guideline", "Pattern", "Journal", "Execution"}
	RelationTypes = []string{"RelatesTo", "DependsOn", "Implements", "Extends", "Supersedes", "Explains"}
	DecisionStati = []string{"Proposed", "Accepted", "Deprecated", "Superseded"}
)

// SharedGraph is the organisation-wide graph; every other graph is a project's.
const SharedGraph = "shared"

// InputError is a request Kogral refuses (HTTP 400).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func invalid(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

// NotFoundError is a missing node (HTTP 404).
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What + " not found" }

// canonical maps "relates_to", "relatesTo" or "RelatesTo" to the seed's name.
func canonical(field, v string, allowed []string) (string, error) {
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(s))
	}
	for _, a := range allowed {
		if squash(a) == squash(v) {
			return a, nil
		}
	}
	return "", invalid("unknown %s %q: want one of %s", field, v, strings.Join(allowed, ", "))
}

// NodeType validates a node type in any spelling.
func NodeType(v string) (string, error) { return canonical("node type", v, NodeTypes) }

// Relation validates a relation in any spelling.
func Relation(v string) (string, error) { return canonical("relation", v, RelationTypes) }

// Node is one piece of knowledge.
type Node struct {
	ID        string         `json:"id"`
	NodeType  string         `json:"node_type"`
	Title     string         `json:"title"`
	Content   string         `json:"content"`
	Metadata  map[string]any `json:"metadata"`
	Tags      []string       `json:"tags"`
	GraphID   string         `json:"graph_id"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Edge is a typed, weighted relation between two nodes.
type Edge struct {
	Source   string         `json:"source"`
	Target   string         `json:"target"`
	Relation string         `json:"relation"`
	Weight   float64        `json:"weight"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// GraphInfo describes a graph.
type GraphInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	GraphType string `json:"graph_type"`
	Nodes     int    `json:"nodes"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
var graphPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Slug makes an id from a title: lower-case letters, digits and dashes.
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 96 {
		s = strings.TrimSuffix(s[:96], "-")
	}
	if s == "" {
		s = "node"
	}
	return s
}

// NodeInput is what creating or updating a node takes.
type NodeInput struct {
	ID       string         `json:"id,omitempty"`
	NodeType string         `json:"node_type"`
	Title    string         `json:"title"`
	Content  string         `json:"content"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Tags     []string       `json:"tags,omitempty"`
	GraphID  string         `json:"graph_id,omitempty"`
}

// Check validates and normalizes the input.
func (in *NodeInput) Check() error {
	t, err := NodeType(in.NodeType)
	if err != nil {
		return err
	}
	in.NodeType = t
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "" || len(in.Title) > 300:
		return invalid("title: required, at most 300 bytes")
	case len(in.Content) > 1<<20:
		return invalid("content: at most 1 MiB")
	case in.ID != "" && !idPattern.MatchString(in.ID):
		return invalid("id %q: want lower-case letters, digits, '.', '_' or '-' (at most 128)", in.ID)
	}
	if in.GraphID == "" {
		in.GraphID = "default"
	}
	if !graphPattern.MatchString(in.GraphID) {
		return invalid("graph_id %q: want lower-case letters, digits, '.', '_' or '-'", in.GraphID)
	}
	if len(in.Tags) > 64 {
		return invalid("tags: at most 64")
	}
	for i, t := range in.Tags {
		in.Tags[i] = strings.TrimPrefix(strings.TrimSpace(t), "#")
		if in.Tags[i] == "" || len(in.Tags[i]) > 64 {
			return invalid("tags: each 1–64 bytes")
		}
	}
	slices.Sort(in.Tags)
	in.Tags = slices.Compact(in.Tags)
	if in.Tags == nil {
		in.Tags = []string{}
	}
	if in.Metadata == nil {
		in.Metadata = map[string]any{}
	}
	if in.NodeType == "Decision" {
		if s, ok := in.Metadata["status"].(string); ok {
			st, err := canonical("decision status", s, DecisionStati)
			if err != nil {
				return err
			}
			in.Metadata["status"] = st
		}
	}
	return nil
}

// CheckEdge validates and normalizes an edge.
func CheckEdge(e *Edge) error {
	r, err := Relation(e.Relation)
	if err != nil {
		return err
	}
	e.Relation = r
	if !idPattern.MatchString(e.Source) || !idPattern.MatchString(e.Target) {
		return invalid("source and target must be node ids")
	}
	if e.Weight == 0 {
		e.Weight = 1
	}
	if e.Weight < 0 || e.Weight > 1000 {
		return invalid("weight %v: want 0–1000", e.Weight)
	}
	return nil
}

// ADR is the template of a decision's content.
type ADR struct {
	Context      string `json:"context"`
	Decision     string `json:"decision"`
	Consequences string `json:"consequences"`
	Status       string `json:"status"`
	Supersedes   string `json:"supersedes,omitempty"`
}

// Markdown renders the ADR body.
func (a ADR) Markdown(title string) string {
	return fmt.Sprintf("# %s\n\n## Status\n\n%s\n\n## Context\n\n%s\n\n## Decision\n\n%s\n\n## Consequences\n\n%s\n",
		title, a.Status, strings.TrimSpace(a.Context), strings.TrimSpace(a.Decision), strings.TrimSpace(a.Consequences))
}
