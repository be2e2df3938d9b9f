package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const exampleForm = "../../schemas/forms/examples/employee.toml"

func runForm(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"form"}, args...))
	cmd.SetIn(strings.NewReader(stdin))
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

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFormRunWithAnswers(t *testing.T) {
	good := writeFile(t, "a.yaml", "name: Ada Lovelace\nemail: ada@example.org\ndepartment: design\nteam_size: large\n"+
		"projects:\n  - project_name: engine\n")
	out, errOut, code := runForm(t, "", "run", exampleForm, "--answers", good, "--format", "toml")
	if code != 0 || !strings.Contains(out, "department = 'design'") || strings.Contains(out, "team_size") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	bad := writeFile(t, "b.json", `{"name":"1","email":"x","department":"sales","projects":[{}],"extra":1}`)
	_, errOut, code = runForm(t, "", "run", exampleForm, "--answers", bad)
	for _, want := range []string{"name: must be at least 2", "email: must match", "department: \"sales\" is not one of", "projects[0].project_name: is required", "extra: the form has no field"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	// Valid answers the CUE contract refuses: engineering needs a team size.
	eng := writeFile(t, "c.json", `{"name":"Ada Lovelace","email":"a@b.io","department":"engineering","projects":[{"project_name":"x"}]}`)
	if _, errOut, code = runForm(t, "", "run", exampleForm, "--answers", eng); code != 1 || !strings.Contains(errOut, "team_size") {
		t.Fatalf("contract: exit %d\n%s", code, errOut)
	}
}

func TestFormValidateExitCodes(t *testing.T) {
	if out, _, code := runForm(t, "", "validate", exampleForm); code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("exit %d: %s", code, out)
	}
	bad := writeFile(t, "f.toml", "[form]\nid = \"f\"\n[[sections]]\nid = \"s\"\n[[sections.fields]]\nid = \"a\"\ntype = \"slider\"\n"+
		"[[sections.fields]]\nid = \"a\"\ntype = \"text\"\nvalidation.pattern = \"(\"\n")
	_, errOut, code := runForm(t, "", "validate", bad)
	if code != 2 || strings.Count(errOut, "\n") != 3 || !strings.Contains(errOut, "f.toml:7:1: field \"a\": unknown field type") ||
		!strings.Contains(errOut, "f.toml:9:1: duplicate field id") || !strings.Contains(errOut, "f.toml:11:12: field \"a\": bad pattern") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if _, _, code := runForm(t, "", "run", bad, "--answers", bad); code != 2 {
		t.Fatalf("run on a bad definition: exit %d", code)
	}
}

// Prompts as a person answers them (huh's accessible mode over a pipe): a
// wrong email is re-asked with its rule, a second project is added.
func TestFormRunAsks(t *testing.T) {
	stdin := "Ada Lovelace\nbad-email\nada@example.org\n1\n2\n4\n0\nengine\n1\ny\nweb\n2\nn\n"
	out, errOut, code := runForm(t, stdin, "run", exampleForm)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "must match ^[^@]+@[^@]+\\.[^@]+$ (pattern)") || !strings.Contains(errOut, "Add another previous projects?") {
		t.Fatalf("prompts:\n%s", errOut)
	}
	var got struct {
		TeamSize string           `json:"team_size"`
		Skills   []string         `json:"skills"`
		Projects []map[string]any `json:"projects"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.TeamSize != "medium" || len(got.Projects) != 2 || got.Projects[1]["project_role"] != "developer" {
		t.Fatalf("output %s (%v)", out, err)
	}
}
