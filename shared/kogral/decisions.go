package kogral

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// ExecutionInput is an agent's execution of a task, as the MCP add_execution
// tool takes it: its JSON schema is derived from this type.
type ExecutionInput struct {
	TaskID        string `json:"task_id" jsonschema:"the task the agent worked on"`
	AgentRole     string `json:"agent_role" jsonschema:"the agent's role, e.g. developer or reviewer"`
	Status        string `json:"status" jsonschema:"how it ended, e.g. completed or failed"`
	DurationMs    int64  `json:"duration_ms,omitempty" jsonschema:"how long it took, in milliseconds"`
	TokensUsed    int64  `json:"tokens_used,omitempty" jsonschema:"LLM tokens it used"`
	OutputSummary string `json:"output_summary,omitempty" jsonschema:"what it produced, in short"`
	Graph         string `json:"graph,omitempty" jsonschema:"graph (default: the project's)"`
}

// Truncate cuts s to n bytes, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// AddDecision records an ADR with the template's sections: its status,
// alternatives and related decisions go in the node's metadata too, and the
// decision is linked to the one it supersedes (Supersedes) and to each
// related one (RelatesTo). Everything is checked before anything is written:
// an alternative without a title is refused, and so is a superseded or
// related decision that does not exist.
func AddDecision(ctx context.Context, b Backend, graph, title string, adr ADR, tags []string) (Node, error) {
	if adr.Status == "" {
		adr.Status = "Proposed"
	}
	meta := map[string]any{"status": adr.Status}
	if len(adr.Alternatives) > 0 {
		meta["alternatives"] = adr.Alternatives
	}
	if len(adr.RelatedDecisions) > 0 {
		meta["related_decisions"] = adr.RelatedDecisions
	}
	if adr.Supersedes != "" {
		meta["supersedes"] = adr.Supersedes
	}
	in := NodeInput{NodeType: "Decision", Title: title, Tags: tags, GraphID: graph, Metadata: meta}
	if err := in.Check(); err != nil {
		return Node{}, err
	}
	adr.Status = meta["status"].(string)
	adr.Alternatives, _ = AsAlternatives(meta["alternatives"])
	links := []Edge{}
	if adr.Supersedes != "" {
		links = append(links, Edge{Target: adr.Supersedes, Relation: "Supersedes"})
	}
	for _, id := range adr.RelatedDecisions {
		links = append(links, Edge{Target: id, Relation: "RelatesTo"})
	}
	for _, l := range links {
		if _, err := b.GetNode(ctx, l.Target); err != nil {
			return Node{}, fmt.Errorf("decision %q: %s %s: %w", title, strings.ToLower(l.Relation), l.Target, err)
		}
	}
	in.Content = adr.Markdown(in.Title)
	n, err := b.CreateNode(ctx, in)
	if err != nil {
		return Node{}, err
	}
	for _, l := range links {
		if _, err := b.Link(ctx, Edge{Source: n.ID, Target: l.Target, Relation: l.Relation, Weight: 1}); err != nil {
			return n, fmt.Errorf("decision %s recorded, but linking it to %s: %w", n.ID, l.Target, err)
		}
	}
	return n, nil
}

// GuidelinesAbout narrows effective guidelines to a topic (their
// metadata.topic, one of their tags, or a word of their title; any case)
// and, unless includeShared, to the project's own.
func GuidelinesAbout(list []EffectiveGuideline, topic string, includeShared bool) []EffectiveGuideline {
	topic = strings.ToLower(strings.TrimSpace(topic))
	out := []EffectiveGuideline{}
	for _, g := range list {
		if !includeShared && g.Source == "shared" {
			continue
		}
		if topic == "" || guidelineAbout(g.Node, topic) {
			out = append(out, g)
		}
	}
	return out
}

func guidelineAbout(n Node, topic string) bool {
	if t, _ := n.Metadata["topic"].(string); strings.ToLower(strings.TrimSpace(t)) == topic {
		return true
	}
	for _, t := range n.Tags {
		if strings.ToLower(t) == topic {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(n.Title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) {
		if w == topic {
			return true
		}
	}
	return false
}

// AddExecution records an agent's execution of a task (the MCP
// add_execution tool) as an Execution node of graph.
func AddExecution(ctx context.Context, b Backend, graph string, in ExecutionInput) (Node, error) {
	in.TaskID, in.AgentRole, in.Status = strings.TrimSpace(in.TaskID), strings.TrimSpace(in.AgentRole), strings.TrimSpace(in.Status)
	switch {
	case in.TaskID == "":
		return Node{}, invalid("task_id: required")
	case in.AgentRole == "" || len(in.AgentRole) > 64:
		return Node{}, invalid("agent_role: required, at most 64 bytes")
	case in.Status == "" || len(in.Status) > 64:
		return Node{}, invalid("status: required, at most 64 bytes")
	case in.DurationMs < 0 || in.TokensUsed < 0:
		return Node{}, invalid("duration_ms and tokens_used: want 0 or more")
	}
	body := fmt.Sprintf("Task %s by %s: %s in %d ms, %d tokens.", in.TaskID, in.AgentRole, in.Status, in.DurationMs, in.TokensUsed)
	if in.OutputSummary != "" {
		body += "\n\n" + in.OutputSummary
	}
	return b.CreateNode(ctx, NodeInput{NodeType: "Execution", Title: Truncate(fmt.Sprintf("%s %s: task %s", in.AgentRole, in.Status, in.TaskID), 250),
		Content: body, GraphID: graph, Tags: []string{in.AgentRole, in.Status},
		Metadata: map[string]any{"task_id": in.TaskID, "agent_role": in.AgentRole, "status": in.Status, "duration_ms": in.DurationMs,
			"tokens_used": in.TokensUsed, "output_summary": in.OutputSummary, "source": "mcp"}})
}
