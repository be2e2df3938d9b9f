package typedialog

import (
	"encoding/json"
	"strings"
	"testing"
)

// A form's output template is registered with it (never read from the
// server's disk), compiled then, and rendered by typedialog-render on submit.
func TestFormTemplates(t *testing.T) {
	h := formsAPI(t)
	def := example(t) // names template = "employee.tera"
	upload := func(def, template string) string {
		raw, _ := json.Marshal(FormUpload{Definition: def, Template: template, Contract: exampleFile(t, "employee.cue")})
		return string(raw)
	}
	if a := expect(t, h, "admin", "POST", "/forms", def, 400); !strings.Contains(a.raw, `template is \"employee.tera\": register its source`) {
		t.Fatalf("template left out: %s", a.raw)
	}
	noTemplate := strings.Replace(def, `template = "employee.tera"`, "", 1)
	if a := expect(t, h, "admin", "POST", "/forms", upload(noTemplate, "{{ name }}"), 400); !strings.Contains(a.raw, "the form names none") {
		t.Fatalf("unnamed template: %s", a.raw)
	}
	if a := expect(t, h, "admin", "POST", "/forms", upload(def, "# {{ name }}\n\n{% for p in projects %}{{ p.project_name }}\n"), 400); !strings.Contains(a.raw, "template employee.tera:3:") {
		t.Fatalf("broken template: %s", a.raw)
	}
	expect(t, h, "bob", "GET", "/forms/example_form", "", 404) // nothing was registered

	// A template that fails on these answers renders nothing, names its
	// line and leaves the session open; the same answers then submit under
	// a version whose template works.
	failing := strings.Replace(def, `version = "1.0.0"`, `version = "1.0.1"`, 1)
	expect(t, h, "admin", "POST", "/forms", upload(failing, "# {{ name }}\n{{ name.first.last() }}\n"), 201)
	answers := `{"version":"1.0.1","answers":{"name":"Ada Lovelace","email":"ada@example.org","department":"design","projects":[{"project_name":"engine"}]}}`
	sid := expect(t, h, "ann", "POST", "/forms/example_form/sessions", answers, 201).body["id"].(string)
	a := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 422)
	if a.body["error"] == nil || !strings.Contains(a.raw, "template employee.tera:2:") || strings.Contains(a.raw, "# Ada") {
		t.Fatalf("failing template: %s", a.raw)
	}
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"ada@lovelace.org"}}`, 200) // still open

	expect(t, h, "admin", "POST", "/forms", exampleUpload(t, def, nil), 201)
	sid = expect(t, h, "ann", "POST", "/forms/example_form/sessions", strings.Replace(answers, "1.0.1", "1.0.0", 1), 201).body["id"].(string)
	sub := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 200)
	if !strings.HasPrefix(sub.body["templated"].(string), "# Ada Lovelace <ada@example.org>\ndepartment: design\n") {
		t.Fatalf("templated %q", sub.body["templated"])
	}
}
