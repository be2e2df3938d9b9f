package execution

import (
	"strings"
	"testing"
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
