package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/vapora"
)

// `stratum vapora check` reads the verdict into its exit code: a fake API
// answers with a broken board, then with its repair.
func TestVaporaCheckExitCodes(t *testing.T) {
	broken := vapora.BoardReport{ProjectID: "prj_1", Tasks: 2, Columns: map[string]int{"Todo": 2},
		Problems: []vapora.BoardProblem{{TaskID: "task_b", Kind: vapora.ProblemRankClash, Columns: []string{"Todo"}, Detail: "rank 5 is also task_a's"}}}
	clean := vapora.BoardReport{ProjectID: "prj_1", Tasks: 2, Columns: map[string]int{"Todo": 2}, Clean: true, Problems: []vapora.BoardProblem{}}
	var gotKey string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey = r.Header.Get("X-API-Key")
		switch r.Method + " " + r.URL.Path {
		case "GET /projects/prj_1/integrity":
			_ = json.NewEncoder(w).Encode(broken)
		case "POST /projects/prj_1/integrity/repair":
			_ = json.NewEncoder(w).Encode(vapora.BoardRepair{Before: broken, After: clean, Reranked: []string{"Todo"}, Attempts: 1})
		case "GET /projects/prj_ok/integrity":
			_ = json.NewEncoder(w).Encode(clean)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"project \"prj_x\" not found"}}`))
		}
	}))
	defer api.Close()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := rootCommand()
		cmd.SetArgs(append([]string{"vapora", "check", "--url", api.URL, "--api-key", "k1"}, args...))
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		err := cmd.ExecuteContext(context.Background())
		var exit exitCodeError
		switch {
		case err == nil:
			return out.String(), errOut.String(), 0
		case errors.As(err, &exit):
			return out.String(), errOut.String(), exit.code
		}
		t.Fatalf("%v: %v", args, err)
		return "", "", -1
	}
	if out, _, code := run("prj_1"); code != 1 || !strings.Contains(out, "rank_clash") || !strings.Contains(out, "task_b") || gotKey != "k1" {
		t.Errorf("broken board: exit %d, key %q\n%s", code, gotKey, out)
	}
	if out, _, code := run("prj_1", "--repair"); code != 1 || !strings.Contains(out, "re-ranked columns [Todo]") || !strings.Contains(out, "After repair: clean") {
		t.Errorf("repair: exit %d\n%s", code, out)
	}
	if out, _, code := run("prj_ok"); code != 0 || !strings.Contains(out, "Board: clean") {
		t.Errorf("clean board: exit %d\n%s", code, out)
	}
	if _, errOut, code := run("prj_x"); code != 3 || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown project: exit %d %q", code, errOut)
	}
	if _, errOut, code := run(); code != 2 || !strings.Contains(errOut, "one project id") {
		t.Errorf("no project: exit %d %q", code, errOut)
	}
	if _, errOut, code := run("prj_1", "--nope"); code != 2 || !strings.Contains(errOut, "unknown flag") {
		t.Errorf("unknown flag: exit %d %q", code, errOut)
	}
}

func TestVaporaEndpointDefaults(t *testing.T) {
	t.Setenv("VAPORA_URL", "")
	t.Setenv("VAPORA_API_KEY", "")
	if base, key, err := vaporaEndpoint("", ""); err != nil || base != "http://127.0.0.1:8401" || key == "" {
		t.Fatalf("defaults: %q %q %v", base, key, err)
	}
	if _, key, _ := vaporaEndpoint("https://vapora.example.com/", ""); key != "" {
		t.Fatalf("the dev key must not go to a remote API: %q", key)
	}
	t.Setenv("VAPORA_URL", "http://10.0.0.1:9000/")
	t.Setenv("VAPORA_API_KEY", "env-key")
	if base, key, _ := vaporaEndpoint("", ""); base != "http://10.0.0.1:9000" || key != "env-key" {
		t.Fatalf("environment: %q %q", base, key)
	}
	if _, _, err := vaporaEndpoint("ftp://x", ""); err == nil {
		t.Fatal("an ftp URL was accepted")
	}
}
