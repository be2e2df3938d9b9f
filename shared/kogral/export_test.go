package kogral

import (
	"context"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// NewTestStore is a store over a fresh embedded SurrealDB, for the
// external tests of this directory.
var NewTestStore = newStore

// PutLegacyNode stores a node under an id outside its graph's scope (a bare
// slug), as the API made them before ids lay in their scope.
func PutLegacyNode(t *testing.T, s *Store, id, graph, title string) {
	t.Helper()
	ctx := context.Background()
	if err := s.ensureGraph(ctx, graph); err != nil {
		t.Fatal(err)
	}
	if _, err := surreal.Query[any](ctx, s.db, `CREATE $id CONTENT { node_type: 'Note', title: $title, content: '', metadata: {},
		tags: [], graph_id: $graph, created_at: time::now(), updated_at: time::now() }`,
		map[string]any{"id": nodeID(id), "title": title, "graph": graph}); err != nil {
		t.Fatal(err)
	}
}
