package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/kogral"
	kogralclient "github.com/stratumiops/stratumiops/shared/kogral/client"
)

// runKogral runs `stratum kogral` in dir against api, stdout and stderr apart.
func runKogral(t *testing.T, dir, api string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"kogral", "--dir", dir, "--api", api}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// kogralStack starts a devstack in this process for a test of `stratum
// kogral` (stopped when the test ends): its endpoints, and a client of the
// kogral API with the dev key, which the CLI is given too (KOGRAL_API_KEY).
func kogralStack(t *testing.T) (devstack.Endpoints, *kogralclient.Client) {
	t.Helper()
	stack, err := devstack.Start(context.Background(), devstack.Config{Memory: true, EphemeralPorts: true, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	ep := stack.Endpoints()
	t.Setenv("KOGRAL_API_KEY", ep.APIKey)
	return ep, kogralclient.NewClient(ep.Gateways["kogral"], "X-API-Key", ep.APIKey)
}

// The trial's export, against a devstack in this process: two decisions of
// one title in demo.brain and a page Vault in both demo.brain and
// demo.brain2. Every node is written (a folder per graph, the second
// decision renamed, with a warning), importing that folder with --graph is
// refused naming why, and one graph's export imported into another graph
// gives back both decisions as decisions, with their alternatives.
// Importing a folder that is no Logseq graph is an error naming what was
// looked for; a graph the key may not write (no init: "default") is an
// error naming the graph and how to choose one, without "run it again".
func TestKogralExportAndImportAgainstTheAPI(t *testing.T) {
	ctx := context.Background()
	ep, c := kogralStack(t)
	api := ep.Gateways["kogral"]
	const title = "Adopt OpenBao instead of Vault Enterprise"
	alt := []kogral.Alternative{{Title: "Vault Enterprise", Cons: []string{"licence"}, WhyNotChosen: "cost"}}
	for _, why := range []string{"first", "second"} {
		if _, err := c.AddDecision(ctx, kogral.DecisionRecord{Title: title, GraphID: "demo.brain",
			ADR: kogral.ADR{Context: why, Decision: "OpenBao", Consequences: "migrate", Status: "Accepted", Alternatives: alt}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, graph := range []string{"demo.brain", "demo.brain2"} {
		if _, err := c.CreateNode(ctx, kogral.NodeInput{NodeType: "Note", Title: "Vault", Content: "- secrets of " + graph, GraphID: graph}); err != nil {
			t.Fatal(err)
		}
	}
	project, out := t.TempDir(), filepath.Join(t.TempDir(), "brain")
	stdout, stderr, err := runKogral(t, project, api, "export", "logseq", "--out", out)
	if err != nil || !strings.Contains(stdout, "Wrote 4 nodes in 4 files to "+out+" (1 renamed: see the warnings; a folder per graph: demo.brain, demo.brain2)") {
		t.Fatalf("export: %v\n%s", err, stdout)
	}
	if !strings.Contains(stderr, `"`+title+`" (graph demo.brain) shares its page name with another node: written as demo.brain/pages/`+title+" (") {
		t.Fatalf("no warning of the renamed decision:\n%s", stderr)
	}
	for _, rel := range []string{"demo.brain/pages/" + title + ".md", "demo.brain/pages/Vault.md", "demo.brain2/pages/Vault.md"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(rel))); err != nil {
			t.Errorf("not written: %s", rel)
		}
	}
	if _, _, err := runKogral(t, project, api, "import", out, "--graph", "demo.other"); err == nil || !strings.Contains(err.Error(), "a Logseq graph per graph (demo.brain, demo.brain2)") {
		t.Fatalf("import --graph of a folder per graph: %v", err)
	}
	if _, _, err := runKogral(t, project, api, "import", filepath.Join(out, "demo.brain"), "--graph", "demo.copy"); err != nil {
		t.Fatalf("import of one graph's export: %v", err)
	}
	copied, err := c.ListNodes(ctx, kogral.Filter{GraphID: "demo.copy", NodeType: "Decision"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range copied {
		alts, _ := n.Metadata["alternatives"].([]any)
		got = append(got, fmt.Sprintf("%s, %d alternative(s): %v", n.Title, len(alts), alts))
	}
	slices.Sort(got)
	one := fmt.Sprintf("%s, 1 alternative(s): [map[cons:[licence] title:Vault Enterprise why_not_chosen:cost]]", title)
	if want := []string{one, one}; !slices.Equal(got, want) {
		t.Fatalf("decisions imported again: %q, want %q", got, want)
	}

	md := filepath.Join(t.TempDir(), "md")
	if _, _, err := runKogral(t, project, api, "export", "markdown", "--out", md); err != nil {
		t.Fatalf("markdown export: %v", err)
	}
	if _, _, err := runKogral(t, project, api, "import", md, "--graph", "demo.other"); err == nil ||
		!strings.Contains(err.Error(), "holds node files of other graphs (demo.brain, demo.brain2, demo.copy) than --graph demo.other names") {
		t.Fatalf("import --graph of files naming other graphs: %v", err)
	}

	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "readme.txt"), []byte("not a graph"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runKogral(t, project, api, "import", empty)
	if err == nil || !strings.Contains(err.Error(), "nothing to import: no Logseq graph (pages/ or journals/") || strings.Contains(stdout, "Imported") {
		t.Fatalf("a folder that is not a graph: %v\n%s", err, stdout)
	}
	_, _, err = runKogral(t, project, api, "import", filepath.Join(out, "demo.brain2"))
	if err == nil {
		t.Fatal("an import into the default graph, which the key may not write, succeeded")
	}
	for _, want := range []string{`403 you cannot write graph "default"`, `may not write "default" (no ` + filepath.Join(project, ".kogral", "config.yaml"),
		"--graph <scope>.<name>", "stratum kogral init --graph"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the 403 lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "run the same import again") {
		t.Errorf("a 403 says to run the import again:\n%v", err)
	}
}
