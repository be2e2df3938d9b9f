package renderfn

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

func handle(t *testing.T, r *Renderer, req any) remote.RenderResult {
	t.Helper()
	payload, _ := json.Marshal(req)
	out, err := r.Handle(context.Background(), payload)
	if err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	var res remote.RenderResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return res
}

func TestRendersTheExampleTemplate(t *testing.T) {
	src, err := os.ReadFile("../../../schemas/forms/examples/employee.tera")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer()
	if res := handle(t, r, remote.Request{Op: remote.OpCompile, Name: "employee.tera", Source: string(src)}); res.Failure != nil || res.Output != "" {
		t.Fatalf("compile: %+v", res)
	}
	values := map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "engineering", "team_size": "small",
		"skills": []any{"go", "rust"}, "projects": []any{map[string]any{"project_name": "engine", "project_role": "lead"}, map[string]any{"project_name": "notes"}}}
	for range 2 { // the second run renders from the parsed template
		res := handle(t, r, remote.Request{Op: remote.OpRun, Name: "employee.tera", Source: string(src), Values: values})
		want := "# Ada Lovelace <ada@example.org>\ndepartment: engineering (team small)\nskills: go, rust\nprojects:\n- engine as lead\n- notes\n\n"
		if res.Failure != nil || res.Output != want {
			t.Fatalf("run: %+v\nwant %q", res, want)
		}
	}
	if len(r.parsed) != 1 {
		t.Fatalf("parsed %d templates, want 1", len(r.parsed))
	}
}

func TestAFailingTemplateRendersNothingAndNamesItsLine(t *testing.T) {
	r := NewRenderer()
	syntax := handle(t, r, remote.Request{Op: remote.OpCompile, Name: "bad.tera", Source: "ok\nok\n{% if %}x{% endif %}"})
	if f := syntax.Failure; f == nil || f.Template != "bad.tera" || f.Line != 3 || syntax.Output != "" {
		t.Fatalf("syntax error: %+v", syntax)
	}
	run := handle(t, r, remote.Request{Op: remote.OpRun, Name: "run.tera", Source: "# {{ name }}\n{{ name.first.last() }}\n",
		Values: map[string]any{"name": "Ada"}})
	if f := run.Failure; f == nil || f.Line != 2 || run.Output != "" || !strings.Contains(f.Error(), "run.tera:2:") {
		t.Fatalf("runtime error: %+v", run)
	}
	include := handle(t, r, remote.Request{Op: remote.OpRun, Name: "inc.tera", Source: `{% include "/etc/passwd" %}`})
	if include.Failure == nil || include.Output != "" {
		t.Fatalf("include: %+v", include)
	}
}

func TestMalformedRequestsAreErrors(t *testing.T) {
	r := NewRenderer()
	for _, payload := range []string{`"x"`, `{"op":"delete","name":"a.tera","source":""}`, `{"op":"run","source":"x"}`} {
		if _, err := r.Handle(context.Background(), []byte(payload)); err == nil {
			t.Errorf("%s: accepted", payload)
		}
	}
}
