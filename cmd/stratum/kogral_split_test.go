package main

import (
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// Node files of two graphs are two parts, each with the edges between its
// nodes, then the edges between graphs; an edge from a graph skipped is
// not sent.
func TestSplitByGraphKeepsEdgesBetweenGraphsLast(t *testing.T) {
	g := kogral.Subgraph{
		Nodes: []kogral.Node{{ID: "shared.g", GraphID: "shared"}, {ID: "demo.a", GraphID: "demo"}, {ID: "demo.b", GraphID: "demo"}},
		Edges: []kogral.Edge{{Source: "demo.a", Target: "demo.b"}, {Source: "demo.a", Target: "shared.g"}, {Source: "shared.g", Target: "demo.a"}},
	}
	parts := splitByGraph(g)
	if len(parts) != 3 || parts[0].Graph != "demo" || len(parts[0].G.Nodes) != 2 || len(parts[0].G.Edges) != 1 ||
		parts[1].Graph != "shared" || len(parts[1].G.Edges) != 0 || !parts[2].Across || len(parts[2].G.Edges) != 2 {
		t.Fatalf("parts: %+v", parts)
	}
	if left := edgesNotFrom(parts[2].G.Edges, parts, []string{"shared"}); len(left) != 1 || left[0].Source != "demo.a" {
		t.Fatalf("edges not from shared: %+v", left)
	}
	if one := splitByGraph(kogral.Subgraph{Nodes: g.Nodes[1:], Edges: g.Edges}); len(one) != 1 || one[0].Graph != "" || len(one[0].G.Edges) != 3 {
		t.Fatalf("one graph: %+v", one)
	}
}
