package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	kogralclient "github.com/stratumiops/stratumiops/shared/kogral/client"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// The trial's "export everything, import it back" with the dev key (scope
// demo): the export holds shared, which every key reads and only
// kogral-admin writes. The import writes demo.brain, skips shared with a
// warning, and fails at the end naming it. A bare name with no graph in
// config.yaml is an error saying to pass the full id or run init.
func TestKogralImportOfEverythingSkipsAGraphItMayNotWrite(t *testing.T) {
	ctx := context.Background()
	ep, dev := kogralStack(t)
	api := ep.Gateways["kogral"]
	auth, err := principal.New(principal.Config{JWTSecret: ep.JWTSecret}.ForSystem("kogral"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue("ops", []string{apifn.AdminScope}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin := kogralclient.NewClient(api, "Authorization", "Bearer "+tok)
	guideline, err := admin.CreateNode(ctx, kogral.NodeInput{NodeType: "Guideline", Title: "Review every change", Content: "- always", GraphID: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	vault, err := dev.CreateNode(ctx, kogral.NodeInput{NodeType: "Note", Title: "Vault", Content: "- secrets", GraphID: "demo.brain"})
	if err != nil {
		t.Fatal(err)
	}
	project, out := t.TempDir(), filepath.Join(t.TempDir(), "all")
	if stdout, _, err := runKogral(t, project, api, "export", "logseq", "--out", out); err != nil || !strings.Contains(stdout, "a folder per graph: demo.brain, shared") {
		t.Fatalf("export: %v\n%s", err, stdout)
	}
	if err := dev.DeleteNode(ctx, vault.ID); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runKogral(t, project, api, "import", out)
	if err == nil || !strings.Contains(err.Error(), "not imported: shared: your API key's scope may not write them") {
		t.Fatalf("import of everything: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "warning: graph shared: not writable with your API key") || !strings.Contains(stdout, `Imported 1 nodes and 0 edges into "demo.brain"`) {
		t.Fatalf("import of everything:\n%s\n%s", stdout, stderr)
	}
	if back, err := dev.ListNodes(ctx, kogral.Filter{GraphID: "demo.brain"}); err != nil || len(back) != 1 || back[0].Title != "Vault" {
		t.Fatalf("demo.brain's page imported back: %+v %v", back, err)
	}

	// The same with a markdown export, whose files name their graphs: the
	// edge from demo.brain to shared's guideline is imported after the graphs.
	back, err := dev.ListNodes(ctx, kogral.Filter{GraphID: "demo.brain"})
	if err != nil || len(back) != 1 {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := dev.Link(ctx, kogral.Edge{Source: back[0].ID, Target: guideline.ID, Relation: "implements"}); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "md")
	if stdout, _, err := runKogral(t, project, api, "export", "markdown", "--out", md); err != nil || !strings.Contains(stdout, "a folder per graph: demo.brain, shared") {
		t.Fatalf("export markdown: %v\n%s", err, stdout)
	}
	stdout, stderr, err = runKogral(t, project, api, "import", md)
	if err == nil || !strings.Contains(err.Error(), "not imported: shared") || !strings.Contains(stderr, "warning: graph shared: not writable") ||
		!strings.Contains(stdout, `Imported 1 nodes and 1 edges into "demo.brain"`) {
		t.Fatalf("import of a markdown export of everything: %v\n%s\n%s", err, stdout, stderr)
	}

	_, _, err = runKogral(t, project, api, "show", "vault")
	if err == nil || !strings.Contains(err.Error(), `"vault" is a name, not a node id`) || !strings.Contains(err.Error(), "stratum kogral init --graph") {
		t.Fatalf("a bare name with no graph set: %v", err)
	}
}
