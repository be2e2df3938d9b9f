package kogral_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The functions link no YAML or markdown library: they write frontmatter
// themselves (package render) and skim a Logseq page's (package logseq);
// only the CLI reads files (package files).
func TestFunctionsLinkNoParsers(t *testing.T) {
	for _, fn := range []string{"kogral-api", "kogral-mcp", "kogral-on-execution"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/stratumiops/stratumiops/functions/"+fn).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", fn, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "yaml") || strings.Contains(dep, "goldmark") {
				t.Errorf("%s links %s", fn, dep)
			}
		}
	}
}
