package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/typedialog"
)

// TypeDialog through its gateway: register the seed's example form, answer
// it in a session (a conditional field shown, then hidden and dropped),
// submit into a config snapshot with its output template rendered by
// typedialog-render and its answers checked against its CUE contract by
// typedialog-contract, and the HTML page.
func TestTypeDialog(t *testing.T) {
	def, err := os.ReadFile("../../schemas/forms/examples/employee.toml")
	if err != nil {
		t.Fatal(err)
	}
	admin := caller{t: t, header: "X-API-Key", value: ep.APIKey, system: "typedialog"}
	ann := jwtCallerOf(t, "typedialog", "ann", "demo")
	bob := jwtCallerOf(t, "typedialog", "bob", "demo")
	wrongSystem := caller{t: t, header: "Authorization", value: "Bearer " + systemToken(t, "vapora", "ann", "forms"), system: "typedialog"}

	ann.must(403, "POST", "/forms", string(def))
	wrongSystem.must(401, "GET", "/forms", "")
	reg := registerExampleForm(t) // with its translations, as the browser test registers it
	if reg["id"] != "example_form" || reg["version"] != "1.0.0" || reg["template"] != "employee.tera" {
		t.Fatalf("registered %v", reg)
	}
	// The template the form names is registered with it, never read from the server's disk.
	if r := admin.do("POST", "/forms", string(def)); r.Status != 400 || !strings.Contains(errorMessage(r), `template is "employee.tera": register its source`) {
		t.Fatalf("form without its template: %d %v", r.Status, r.Body)
	}
	// So is its contract, compiled at registration: a broken one names its line.
	tera, err := os.ReadFile("../../schemas/forms/examples/employee.tera")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(contract string) string {
		raw, _ := json.Marshal(typedialog.FormUpload{Definition: string(def), Template: string(tera), Contract: contract})
		return string(raw)
	}
	if r := registerJSON(t, upload("")); r.Status != 400 || !strings.Contains(errorMessage(r), `validation is "cue://schemas/forms/examples/employee.cue": register its source`) {
		t.Fatalf("form without its contract: %d %v", r.Status, r.Body)
	}
	if r := registerJSON(t, upload("name: string\nemail: string &\n")); r.Status != 400 || !strings.Contains(errorMessage(r), "schemas/forms/examples/employee.cue:2:17") {
		t.Fatalf("broken contract: %d %v", r.Status, r.Body)
	}
	bad := admin.do("POST", "/forms", "[form]\nid = \"x\"\nversion = \"1\"\n[[sections]]\nid = \"s\"\n[[sections.fields]]\nid = \"a\"\ntype = \"slider\"\nvalidation.pattern = \"(\"\n")
	if msg := errorMessage(bad); bad.Status != 400 || !strings.Contains(msg, "form.toml:8:1:") || !strings.Contains(msg, "form.toml:9:12:") {
		t.Fatalf("bad definition: %d %q", bad.Status, msg)
	}
	if forms := ann.must(200, "GET", "/forms", "")["forms"].([]any); len(forms) == 0 {
		t.Fatal("no forms listed")
	}
	ann.must(200, "GET", "/forms/example_form", "")

	s := ann.must(201, "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada Lovelace","email":"ada@example.org","department":"engineering"}}`)
	sid := s["id"].(string)
	if !strings.Contains(strings.Join(toStrings(s["visible"]), ","), "team_size") {
		t.Fatalf("team_size hidden for engineering: %v", s["visible"])
	}
	bob.must(404, "PATCH", "/sessions/"+sid, `{"answers":{"name":"Bob"}}`)
	if r := ann.do("PATCH", "/sessions/"+sid, `{"answers":{"shoe_size":44}}`); r.Status != 400 || !strings.Contains(errorMessage(r), `"shoe_size"`) {
		t.Fatalf("unknown field: %d %v", r.Status, r.Body)
	}
	p := ann.must(200, "PATCH", "/sessions/"+sid, `{"answers":{"team_size":"medium","department":"design","projects":[{"project_name":"engine"},{"project_name":"web","project_role":"lead"}]}}`)
	if strings.Contains(strings.Join(toStrings(p["visible"]), ","), "team_size") || len(p["errors"].([]any)) != 0 {
		t.Fatalf("after switching department: %v", p)
	}
	sub := ann.must(200, "POST", "/sessions/"+sid+"/submit", "")
	if out := sub["output"].(string); strings.Contains(out, "team_size") || !strings.Contains(out, `"project_role": "lead"`) || sub["format"] != "json" {
		t.Fatalf("submission %v", sub)
	}
	// typedialog-render (invoked through the Invoke API) rendered employee.tera with the answers.
	if tpl := sub["templated"]; tpl != "# Ada Lovelace <ada@example.org>\ndepartment: design\nprojects:\n- engine\n- web as lead\n\n" {
		t.Fatalf("templated %q", tpl)
	}
	ann.must(409, "POST", "/sessions/"+sid+"/submit", "")
	// typedialog-contract (a container image in AWS, in-process here) names
	// each violated constraint by field: a tab passes the form's \s but not
	// the contract's name pattern, and an engineer must name a team size.
	s3 := ann.must(201, "POST", "/forms/example_form/sessions", `{"answers":{"name":"Ada\tLovelace","email":"ada@example.org","department":"engineering","projects":[{"project_name":"engine"}]}}`)
	r := ann.do("POST", "/sessions/"+s3["id"].(string)+"/submit", "")
	if msg := errorMessage(r); r.Status != 400 || !strings.HasPrefix(msg, "contract schemas/forms/examples/employee.cue: ") ||
		!strings.Contains(msg, `name: invalid value "Ada\tLovelace" (out of bound =~"^[a-zA-Z ]+$")`) || !strings.Contains(msg, "team_size: ") {
		t.Fatalf("contract violation: %d %v", r.Status, r.Body)
	}
	ann.must(200, "PATCH", "/sessions/"+s3["id"].(string), `{"answers":{"name":"Ada Lovelace","team_size":"large"}}`)
	if sub := ann.must(200, "POST", "/sessions/"+s3["id"].(string)+"/submit", ""); !strings.Contains(sub["output"].(string), `"team_size": "large"`) {
		t.Fatalf("submission after the contract's fix %v", sub)
	}
	s2 := ann.must(201, "POST", "/forms/example_form/sessions", "")
	big := `{"answers":{"name":"` + strings.Repeat("a", 1<<20) + `"}}`
	if r := ann.do("PATCH", "/sessions/"+s2["id"].(string), big); r.Status != 413 {
		t.Fatalf("1 MiB of answers: %d", r.Status)
	}
	if r := ann.do("POST", "/sessions/"+s2["id"].(string)+"/submit", ""); r.Status != 422 || !strings.Contains(errorMessage(r), "name: is required") {
		t.Fatalf("empty submission: %d %v", r.Status, r.Body)
	}

	req, _ := http.NewRequestWithContext(ctx(t), "GET", ep.Gateways["typedialog"]+"/forms/example_form/page", nil)
	req.Header.Set("X-API-Key", ep.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(html), `data-id="team_size"`) {
		t.Fatalf("page: %d %s\n%.300s", res.StatusCode, res.Header.Get("Content-Type"), html)
	}
}

// registerJSON is POST /forms with a JSON body (FormUpload) as the admin.
func registerJSON(t *testing.T, body string) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), "POST", ep.Gateways["typedialog"]+"/forms", strings.NewReader(body))
	req.Header.Set("X-API-Key", ep.APIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := response{Status: res.StatusCode, Header: res.Header, Body: map[string]any{}}
	_ = json.NewDecoder(res.Body).Decode(&r.Body)
	return r
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}
