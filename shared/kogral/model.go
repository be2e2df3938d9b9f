// Package kogral is Kogral: a team's notes, decisions (ADRs), guidelines,
// patterns, journals and agent executions as a graph in SurrealDB, with
// full-text and semantic search, guideline inheritance, markdown files
// (.kogral/) kept in sync both ways, Logseq import, exports to markdown,
// JSON and DOT, and an MCP server (spec seed, Kogral).
package kogral

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/stratumiops/stratumiops/shared/kogral/model"
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

// separators are what canonical ignores; built once (building a Replacer
// cost 9 % of an import's CPU when each comparison built its own).
var separators = strings.NewReplacer("_", "", "-", "", " ", "")

// canonical maps "relates_to", "relatesTo" or "RelatesTo" to the seed's name.
func canonical(field, v string, allowed []string) (string, error) {
	squash := func(s string) string { return strings.ToLower(separators.Replace(s)) }
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

// Node is one piece of knowledge (package model).
type Node = model.Node

// Edge is a typed, weighted relation between two nodes (package model).
type Edge = model.Edge

// GraphInfo describes a graph.
type GraphInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	GraphType string `json:"graph_type"`
	Nodes     int    `json:"nodes"`
}

// Ids and graph ids are lower-case letters of any script (with their
// combining marks), digits, '.', '_' and '-': at most 128 and 64 characters,
// the first a letter or a digit. The regular expression
// ^[\p{Ll}\p{Lo}\p{Lm}\p{Nd}][\p{Ll}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}._-]{0,127}$
// says the same (TestIDPatternIsTheRegexp); a loop says it faster: the
// client checks every id of an answer (600 in a connected(3) of 200 nodes),
// and the regexp took about 0.5 ms of CPU a traversal.
var (
	idPattern    = namePattern{maxRunes: 128}
	graphPattern = namePattern{maxRunes: 64}
)

// namePattern matches an id or a graph name of at most maxRunes characters.
type namePattern struct{ maxRunes int }

// MatchString reports whether s is such a name.
func (p namePattern) MatchString(s string) bool {
	if s == "" {
		return false
	}
	n := 0
	for i, r := range s { // an invalid byte is U+FFFD, a symbol: refused
		if n++; n > p.maxRunes {
			return false
		}
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
		case r < utf8.RuneSelf:
			if i == 0 || (r != '.' && r != '_' && r != '-') {
				return false
			}
		case unicode.In(r, unicode.Ll, unicode.Lo, unicode.Lm, unicode.Nd):
		case i == 0 || !unicode.In(r, unicode.Mn, unicode.Mc):
			return false
		}
	}
	return true
}

// ValidGraph tells whether name can name a graph.
func ValidGraph(name string) bool { return graphPattern.MatchString(name) }

// ValidID says whether id is a node id: lower-case letters, digits, marks,
// '.', '_' or '-', 128 characters at most.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// GraphScope is the scope a graph belongs to: its id up to the first '.'
// ("acme" and "acme.web" are the acme scope's).
func GraphScope(graph string) string {
	scope, _, _ := strings.Cut(graph, ".")
	return scope
}

// IDScope is the scope a node id belongs to: the id up to its first '.'
// ("acme.web.plan" is the acme scope's). Node ids are a namespace per
// scope: a node's id lies in its graph's scope (CheckIDInGraph), so an id
// alone tells who may read or write it, before anything is looked up.
func IDScope(id string) string {
	scope, _, _ := strings.Cut(id, ".")
	return scope
}

// CheckIDInGraph refuses a node id outside its graph's scope: the id must
// begin with the scope and a '.' ("acme.plan" or "acme.web.plan" for graph
// "acme.web"), and the server makes ids "<graph>.<slug>".
func CheckIDInGraph(id, graph string) error {
	scope := GraphScope(graph)
	if !strings.HasPrefix(id, scope+".") || len(id) == len(scope)+1 {
		return invalid("id %q: a node's id must begin with its graph's scope and a '.' (%q for graph %q), e.g. %q", id, scope+".", graph, graph+".name")
	}
	return nil
}

// NewID is the id the server gives a node of graph titled title:
// "<graph>.<slug>", the slug cut so that the id, with a "-" and 5 digits
// added on a clash, stays within 128 characters.
func NewID(graph, title string) string {
	room := idPattern.maxRunes - utf8.RuneCountInString(graph) - 1 - 6
	s := SlugN(title, min(room, 96))
	if s == "" {
		s = "node"
	}
	return graph + "." + s
}

// Slug makes an id from a title: its words in lower case, in any script
// (NFC, marks kept: "Café Crème" is café-crème, "회의 노트" 회의-노트),
// joined by dashes, at most 96 characters; "node" when it has no letter or
// digit. Distinct titles can share a slug: callers that need one id per
// title add a short hash (uniqueIDs).
func Slug(title string) string {
	if s := SlugN(title, 96); s != "" {
		return s
	}
	return "node"
}

// SlugN is title's slug cut to at most max characters ("" when it has no
// letter or digit).
func SlugN(title string, max int) string {
	var b strings.Builder
	n, dash := 0, false
	for _, r := range norm.NFC.String(strings.ToLower(title)) {
		switch {
		case n >= max:
		case unicode.IsDigit(r) || unicode.IsLetter(r) && !unicode.IsUpper(r) && !unicode.IsTitle(r):
			b.WriteRune(r)
			n, dash = n+1, false
		case unicode.In(r, unicode.Mn, unicode.Mc) && b.Len() > 0 && !dash:
			b.WriteRune(r)
			n++
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			n, dash = n+1, true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// The limits of a node.
const (
	MaxTitleBytes   = 300
	MaxContentBytes = 1 << 20
	MaxTags         = 64 // distinct
	MaxTagBytes     = 64
)

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
	case in.Title == "" || len(in.Title) > MaxTitleBytes:
		return invalid("title: required, at most %d bytes", MaxTitleBytes)
	case len(in.Content) > MaxContentBytes:
		return invalid("content: %d bytes, at most 1 MiB", len(in.Content))
	case in.ID != "" && !idPattern.MatchString(in.ID):
		return invalid("id %q: want lower-case letters, digits, '.', '_' or '-' (at most 128)", in.ID)
	}
	if in.GraphID == "" {
		in.GraphID = "default"
	}
	if !graphPattern.MatchString(in.GraphID) {
		return invalid("graph_id %q: want lower-case letters, digits, '.', '_' or '-'", in.GraphID)
	}
	if in.ID != "" {
		if err := CheckIDInGraph(in.ID, in.GraphID); err != nil {
			return err
		}
	}
	for i, t := range in.Tags {
		in.Tags[i] = strings.TrimPrefix(strings.TrimSpace(t), "#")
		if in.Tags[i] == "" || len(in.Tags[i]) > MaxTagBytes {
			return invalid("tags: %q: each 1–%d bytes", in.Tags[i], MaxTagBytes)
		}
	}
	slices.Sort(in.Tags)
	in.Tags = slices.Compact(in.Tags)
	if len(in.Tags) > MaxTags {
		return invalid("tags: %d distinct, at most %d", len(in.Tags), MaxTags)
	}
	if in.Tags == nil {
		in.Tags = []string{}
	}
	if in.Metadata == nil {
		in.Metadata = map[string]any{}
	}
	if in.NodeType == "Decision" {
		return checkDecision(in.Metadata)
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

// ADR is the template of a decision's content (the seed's DecisionRecord,
// without its title).
type ADR struct {
	Context          string        `json:"context"`
	Decision         string        `json:"decision"`
	Consequences     string        `json:"consequences"`
	Status           string        `json:"status"`
	Supersedes       string        `json:"supersedes,omitempty"`
	Alternatives     []Alternative `json:"alternatives,omitempty"`
	RelatedDecisions []string      `json:"related_decisions,omitempty"`
}

// Alternative is an option a decision weighed and did not choose.
type Alternative struct {
	Title        string   `json:"title" yaml:"title"`
	Pros         []string `json:"pros,omitempty" yaml:"pros,omitempty"`
	Cons         []string `json:"cons,omitempty" yaml:"cons,omitempty"`
	WhyNotChosen string   `json:"why_not_chosen,omitempty" yaml:"why_not_chosen,omitempty"`
}

// DecisionRecord is a decision as POST /decisions and the MCP add_decision
// tool take it (the seed's DecisionRecord, with tags and a graph).
type DecisionRecord struct {
	Title string `json:"title"`
	ADR
	Tags    []string `json:"tags,omitempty"`
	GraphID string   `json:"graph_id,omitempty"`
}

// checkDecision validates and normalizes a decision's metadata: its status,
// its alternatives (each with a title) and the ids of related decisions.
// They are kept in metadata as plain JSON values (alternatives as objects,
// related_decisions as strings), as they come back from the database.
func checkDecision(meta map[string]any) error {
	if s, ok := meta["status"].(string); ok {
		st, err := canonical("decision status", s, DecisionStati)
		if err != nil {
			return err
		}
		meta["status"] = st
	}
	if v, ok := meta["alternatives"]; ok && v != nil {
		alts, err := AsAlternatives(v)
		if err != nil {
			return err
		}
		list := make([]any, len(alts))
		for i, a := range alts {
			m := map[string]any{"title": a.Title}
			if len(a.Pros) > 0 {
				m["pros"] = stringsAny(a.Pros)
			}
			if len(a.Cons) > 0 {
				m["cons"] = stringsAny(a.Cons)
			}
			if a.WhyNotChosen != "" {
				m["why_not_chosen"] = a.WhyNotChosen
			}
			list[i] = m
		}
		meta["alternatives"] = list
	}
	if v, ok := meta["related_decisions"]; ok && v != nil {
		ids, err := AsStrings(v)
		if err != nil {
			return invalid("related_decisions: %v", err)
		}
		for _, id := range ids {
			if !idPattern.MatchString(id) {
				return invalid("related_decisions: %q is not a node id", id)
			}
		}
		meta["related_decisions"] = stringsAny(ids)
	}
	return nil
}

// AsAlternatives reads a decision's alternatives from metadata in any
// JSON-like form.
func AsAlternatives(v any) ([]Alternative, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, invalid("alternatives: %v", err)
	}
	var alts []Alternative
	if err := json.Unmarshal(raw, &alts); err != nil {
		return nil, invalid("alternatives: want a list of {title, pros, cons, why_not_chosen}: %v", err)
	}
	for i := range alts {
		alts[i].Title = strings.TrimSpace(alts[i].Title)
		if alts[i].Title == "" {
			return nil, invalid("alternatives[%d]: title required", i)
		}
		if len(alts[i].Title) > 300 {
			return nil, invalid("alternatives[%d]: title at most 300 bytes", i)
		}
	}
	return alts, nil
}

// AsStrings reads a list of strings (related decisions) from metadata in
// any JSON-like form.
func AsStrings(v any) ([]string, error) {
	raw, _ := json.Marshal(v)
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("want a list of strings")
	}
	return out, nil
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Markdown renders the ADR body.
func (a ADR) Markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n## Status\n\n%s\n\n## Context\n\n%s\n\n## Decision\n\n%s\n\n## Consequences\n\n%s\n",
		title, a.Status, strings.TrimSpace(a.Context), strings.TrimSpace(a.Decision), strings.TrimSpace(a.Consequences))
	if len(a.Alternatives) > 0 {
		b.WriteString("\n## Alternatives\n")
		for _, alt := range a.Alternatives {
			fmt.Fprintf(&b, "\n### %s\n\n", alt.Title)
			for _, p := range alt.Pros {
				fmt.Fprintf(&b, "- Pro: %s\n", p)
			}
			for _, c := range alt.Cons {
				fmt.Fprintf(&b, "- Con: %s\n", c)
			}
			if alt.WhyNotChosen != "" {
				fmt.Fprintf(&b, "\nNot chosen: %s\n", strings.TrimSpace(alt.WhyNotChosen))
			}
		}
	}
	if len(a.RelatedDecisions) > 0 {
		b.WriteString("\n## Related decisions\n\n")
		for _, id := range a.RelatedDecisions {
			fmt.Fprintf(&b, "- [[%s]]\n", id)
		}
	}
	return b.String()
}

// EdgeDirection is which of a node's edges a listing wants (package model).
type EdgeDirection = model.EdgeDirection

// The directions of a node's edges.
const (
	DirectionOut  = model.DirectionOut
	DirectionIn   = model.DirectionIn
	DirectionBoth = model.DirectionBoth
)

// ParseDirection validates a direction; "" is both.
func ParseDirection(v string) (EdgeDirection, error) {
	switch d := EdgeDirection(v); d {
	case "":
		return DirectionBoth, nil
	case DirectionOut, DirectionIn, DirectionBoth:
		return d, nil
	}
	return "", invalid("direction %q: want out, in or both", v)
}
