// Package model holds the graph's values as the API returns them: nodes,
// edges, subgraphs and the direction of a node's edges. The store (package
// kogral, which names them as its own) and the search index (package index)
// share them.
package model

import "time"

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

// Subgraph is nodes and the edges among them. Truncated marks a connected()
// answer cut at its limit.
type Subgraph struct {
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
	Truncated bool   `json:"truncated,omitempty"`
}

// EdgeDirection is which of a node's edges a listing wants (the seed's
// EdgeDirection): those leaving it, those reaching it, or both.
type EdgeDirection string

const (
	DirectionOut  EdgeDirection = "out"
	DirectionIn   EdgeDirection = "in"
	DirectionBoth EdgeDirection = "both"
)
