package execution

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

func TestExecutionGraph(t *testing.T) {
	for _, c := range []struct{ scope, project, want string }{
		{"acme", "prj_01J", "acme.prj-01j"},
		{"", "prj_01J", ""},
		{"a.b", "prj", ""},
		{"Acme", "prj", ""},
		{"acme", strings.Repeat("x", 100), "acme." + strings.Repeat("x", 59)},
	} {
		if got := ExecutionGraph(c.scope, c.project); got != c.want {
			t.Errorf("ExecutionGraph(%q, %q) = %q, want %q", c.scope, c.project, got, c.want)
		}
	}
}

// The nodes an execution makes lie in its scope, whatever the ids' length.
func TestExecutionNodeIDs(t *testing.T) {
	for _, id := range []string{ProjectNodeID("acme", "prj_01J"), ExecutionNodeID("acme", "evt-1"),
		ExecutionNodeID(strings.Repeat("s", 63), strings.Repeat("Ω", 200))} {
		graph := ExecutionGraph(strings.Split(id, ".")[0], "prj_01J")
		if err := kogral.CheckIDInGraph(id, graph); err != nil || !kogral.ValidID(id) {
			t.Errorf("%q in %q: %v (valid %v)", id, graph, err, kogral.ValidID(id))
		}
	}
	if got := ProjectNodeID("acme", "prj_01J"); got != "acme.project-prj-01j" {
		t.Errorf("project node %q", got)
	}
}
