package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/client"
)

// `stratum kogral` against a devstack in this process, as a person would
// use it: each command the issue names, the guided ADR (its prompts
// answered through stdin, huh's accessible mode), and init --with-surreal.
func TestKogralCLI(t *testing.T) {
	ctx := context.Background()
	stack, err := devstack.Start(ctx, devstack.Config{Memory: true, EphemeralPorts: true, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	ep := stack.Endpoints()
	t.Setenv("KOGRAL_URL", ep.Gateways["kogral"])
	t.Setenv("KOGRAL_API_KEY", ep.APIKey)
	project := t.TempDir()
	run := func(dir, stdin string, args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		cmd := rootCommand()
		cmd.SetArgs(append([]string{"kogral", "--dir", dir}, args...))
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(stdin))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := run(project, "", args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("stratum kogral %v: %v, want %q in:\n%s", args, err, want, out)
		}
		return out
	}
	must("Initialized", "init", "--graph", "demo.cli")
	must("Added note demo.cli.auth-tokens", "add", "note", "Auth tokens", "--tags", "auth,security", "-m", "Tokens expire after an hour.")
	must("Added note demo.cli.token-cache", "add", "note", "Token cache", "--tags", "perf", "-m", "Cache tokens for a minute.")

	t.Run("search --tag", func(t *testing.T) {
		out := must("auth-tokens", "search", "--tag", "auth", "tokens")
		if strings.Contains(out, "token-cache") {
			t.Fatalf("the tag did not filter:\n%s", out)
		}
	})
	t.Run("list", func(t *testing.T) {
		out := must("token-cache", "list", "--graph", "demo.cli", "--tag", "perf")
		if strings.Contains(out, "auth-tokens") || !strings.HasPrefix(out, "TYPE") {
			t.Fatalf("list --tag perf:\n%s", out)
		}
	})
	t.Run("link, show, unlink", func(t *testing.T) {
		must("Linked demo.cli.auth-tokens -DependsOn-> demo.cli.token-cache (1)", "link", "auth-tokens", "token-cache", "depends_on")
		must("target: demo.cli.token-cache", "show", "auth-tokens")
		must("<- demo.cli.auth-tokens DependsOn (1)", "show", "token-cache")
		must("Unlinked demo.cli.auth-tokens -> demo.cli.token-cache", "unlink", "auth-tokens", "token-cache")
		if out := must("title: Token cache", "show", "token-cache"); strings.Contains(out, "<-") {
			t.Fatalf("an edge after unlink:\n%s", out)
		}
		if _, err := run(project, "", "unlink", "auth-tokens", "token-cache"); err == nil {
			t.Fatal("unlinking what is not linked succeeded")
		}
	})
	t.Run("add, link, sync as the README: no conflict; --prefer settles one", func(t *testing.T) {
		must("Linked demo.cli.auth-tokens -RelatesTo-> demo.cli.token-cache (1)", "link", "auth-tokens", "token-cache", "relates_to")
		file := filepath.Join(project, ".kogral", "notes", "demo.cli.auth-tokens.md")
		if raw, _ := os.ReadFile(file); !strings.Contains(string(raw), "token-cache") {
			t.Fatalf("link did not update the node's file:\n%s", raw)
		}
		must("conflicts 0", "sync")
		// Both sides change the same node: a conflict, settled by --prefer.
		api := client.NewClient(ep.Gateways["kogral"], "X-API-Key", ep.APIKey)
		n, err := api.GetNode(ctx, "demo.cli.token-cache")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.UpdateNode(ctx, n.ID, kogral.NodeInput{NodeType: n.NodeType, Title: n.Title, Content: "Cache tokens for five minutes.",
			Tags: n.Tags, GraphID: n.GraphID}); err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(project, ".kogral", "notes", "demo.cli.token-cache.md")
		raw, _ := os.ReadFile(local)
		if err := os.WriteFile(local, []byte(strings.Replace(string(raw), "Cache tokens for a minute.", "Cache tokens for ten seconds.", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := run(project, "", "sync"); err == nil || !strings.Contains(out, "conflict: demo.cli.token-cache") {
			t.Fatalf("sync with both sides changed: %v\n%s", err, out)
		}
		if _, err := run(project, "", "sync", "--prefer", "sideways"); err == nil || !strings.Contains(err.Error(), "want local") {
			t.Fatalf("--prefer sideways: %v", err)
		}
		must("pulled 1, conflicts 0", "sync", "--prefer", "remote")
		if raw, _ := os.ReadFile(local); !strings.Contains(string(raw), "five minutes") {
			t.Fatalf("--prefer remote left the file:\n%s", raw)
		}
		must("pushed 0, pulled 0, conflicts 0", "sync")
		must("Unlinked demo.cli.auth-tokens -> demo.cli.token-cache", "unlink", "auth-tokens", "token-cache")
		must("pushed 0, pulled 0, conflicts 0", "sync")
	})
	t.Run("add decision asks for each field", func(t *testing.T) {
		answers := strings.Join([]string{
			"Use JWT for sessions", // title
			"2",                    // status: Accepted
			"Sessions must survive restarts.", "Sign JWTs with a rotating key.", "Revocation needs a deny list.",
			"Server-side sessions", "simple; revocable", "sticky state", "does not scale out", // an alternative
			"",                       // no more alternatives
			"", "", "auth, security", // related, supersedes, tags
		}, "\n") + "\n"
		out, err := run(project, answers, "add", "decision")
		if err != nil || !strings.Contains(out, "Added decision demo.cli.use-jwt-for-sessions") || !strings.Contains(out, "Alternative considered") {
			t.Fatalf("guided ADR: %v\n%s", err, out)
		}
		n, err := client.NewClient(ep.Gateways["kogral"], "X-API-Key", ep.APIKey).GetNode(ctx, "demo.cli.use-jwt-for-sessions")
		if err != nil || n.Metadata["status"] != "Accepted" || !strings.Contains(n.Content, "### Server-side sessions") ||
			!strings.Contains(n.Content, "Sign JWTs with a rotating key.") || strings.Join(n.Tags, ",") != "auth,security" {
			t.Fatalf("the decision: %+v %v", n, err)
		}
		file, _ := os.ReadFile(filepath.Join(project, ".kogral", "decisions", "demo.cli.use-jwt-for-sessions.md"))
		for _, want := range []string{"alternatives:\n  - title: Server-side sessions\n", "why_not_chosen: does not scale out", "- revocable"} {
			if !strings.Contains(string(file), want) {
				t.Fatalf("the decision's file lacks %q:\n%s", want, file)
			}
		}
		if _, err := run(project, "", "add", "decision", "Bad", "--alternative", "|fast||"); err == nil || !strings.Contains(err.Error(), "alternatives[0]: title required") {
			t.Fatalf("an alternative without a title: %v", err)
		}
	})
	t.Run("export json", func(t *testing.T) {
		out := must(`"nodes"`, "export", "json", "--graph", "demo.cli")
		var g kogral.Subgraph
		if err := json.Unmarshal([]byte(out), &g); err != nil || len(g.Nodes) != 3 {
			t.Fatalf("export json: %v, %d nodes\n%s", err, len(g.Nodes), out)
		}
	})
	t.Run("config set", func(t *testing.T) {
		must("", "config", "set", "graph", "other")
		must("graph: other", "config")
		if _, err := run(project, "", "config", "set", "colour", "blue"); err == nil || !strings.Contains(err.Error(), `unknown key "colour"`) {
			t.Fatalf("an unknown key: %v", err)
		}
		must("", "config", "set", "graph", "demo.cli")
	})
	t.Run("init --with-surreal works on SurrealDB directly", func(t *testing.T) {
		direct := t.TempDir()
		if out, err := run(direct, "", "init", "--graph", "demo.cli", "--with-surreal", "--surreal-url", ep.Surreal); err != nil || !strings.Contains(out, "SurrealDB "+ep.Surreal) {
			t.Fatalf("init --with-surreal: %v\n%s", err, out)
		}
		raw, _ := os.ReadFile(filepath.Join(direct, ".kogral", "config.yaml"))
		if !strings.Contains(string(raw), "surreal:\n    url: "+ep.Surreal) || !strings.Contains(string(raw), "database: kogral") {
			t.Fatalf("config.yaml:\n%s", raw)
		}
		t.Setenv("KOGRAL_URL", "http://127.0.0.1:1") // nothing listens there: the API is not used
		if out, err := run(direct, "", "add", "note", "Written directly", "-m", "No API involved."); err != nil {
			t.Fatalf("add on SurrealDB: %v\n%s", err, out)
		}
		t.Setenv("KOGRAL_URL", ep.Gateways["kogral"])
		must("written-directly", "list", "--graph", "demo.cli") // through the API, from the same database
	})
}

// A kogral API that lies (a malicious or compromised server) cannot make
// the CLI write outside the folder it was given: ids, types and Logseq file
// names are checked on the client, and writes stay under the folder.
func TestKogralCLIRefusesServerPaths(t *testing.T) {
	for name, bad := range map[string]map[string]any{
		"id":         {"id": "../../../escaped", "node_type": "Note", "title": "x", "graph_id": "demo"},
		"type":       {"id": "ok", "node_type": "../../../escaped", "title": "x", "graph_id": "demo"},
		"graph":      {"id": "ok", "node_type": "Note", "title": "x", "graph_id": "../x"},
		"file":       {"id": "ok", "node_type": "Note", "title": "x", "graph_id": "demo", "metadata": map[string]any{"file": "../../../escaped.md"}},
		"absolute":   {"id": "ok", "node_type": "Note", "title": "x", "graph_id": "demo", "metadata": map[string]any{"file": "/tmp/escaped.md"}},
		"edge":       {"id": "ok", "node_type": "Note", "title": "x", "graph_id": "demo", "edge": "../../../escaped"},
		"uppercased": {"id": "OK/../..", "node_type": "Note", "title": "x", "graph_id": "demo"},
	} {
		t.Run(name, func(t *testing.T) {
			edges := []map[string]any{}
			if target, ok := bad["edge"]; ok {
				delete(bad, "edge")
				edges = append(edges, map[string]any{"source": "ok", "target": target, "relation": "RelatesTo", "weight": 1})
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case strings.HasPrefix(r.URL.Path, "/exports"): // an export job that succeeds at once
					result, _ := json.Marshal(map[string]any{"nodes": []any{bad}, "edges": edges})
					if strings.HasSuffix(r.URL.Path, "/result") {
						_, _ = w.Write(result)
						return
					}
					_ = json.NewEncoder(w).Encode(map[string]any{"id": "exp-20261130-080000-abcdefghijklmnop", "status": "succeeded",
						"parts": 1, "size": len(result)})
				case r.URL.Path == "/nodes" && r.Method == "POST":
					w.WriteHeader(201)
					_ = json.NewEncoder(w).Encode(bad)
				default:
					_ = json.NewEncoder(w).Encode(map[string]any{"edges": edges})
				}
			}))
			defer srv.Close()
			base := t.TempDir()
			out := filepath.Join(base, "a", "b", "c")
			project := filepath.Join(base, "p", "q", "r")
			for _, args := range [][]string{
				{"export", "markdown", "--out", out},
				{"export", "logseq", "--out", out},
				{"add", "note", "Anything", "-m", "x"},
			} {
				cmd := rootCommand()
				cmd.SetArgs(append([]string{"kogral", "--dir", project, "--api", srv.URL}, args...))
				cmd.SetOut(io.Discard)
				cmd.SetErr(io.Discard)
				if err := cmd.ExecuteContext(context.Background()); err == nil {
					t.Errorf("%v: no error", args)
				}
			}
			_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), "escaped") {
					t.Errorf("wrote %s", p)
				}
				return nil
			})
		})
	}
}

// `config set api_key` leaves the config readable by its owner only, even
// when the file was created readable by others.
func TestKogralConfigKeyIsPrivate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".kogral", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("graph: demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := rootCommand()
	cmd.SetArgs([]string{"kogral", "--dir", dir, "config", "set", "api_key", "sk-secret"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cfg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.yaml: %v %v, want 0600", st.Mode(), err)
	}
	if raw, _ := os.ReadFile(cfg); !strings.Contains(string(raw), "sk-secret") || !strings.Contains(string(raw), "graph: demo") {
		t.Fatalf("config.yaml:\n%s", raw)
	}
}
