package typedialog

import (
	"encoding/json"
	"strings"
	"testing"
)

// A form's CUE contract is registered with it (never read from the
// server's disk), compiled then, and checked by typedialog-contract on
// submit: each violated constraint is a 400 naming its field, and the
// session stays open.
func TestFormContracts(t *testing.T) {
	h := formsAPI(t)
	def := example(t) // names validation = "cue://schemas/forms/examples/employee.cue"
	upload := func(def, contract string) string {
		raw, _ := json.Marshal(FormUpload{Definition: def, Template: exampleFile(t, "employee.tera"), Contract: contract})
		return string(raw)
	}
	if a := expect(t, h, "admin", "POST", "/forms", upload(def, ""), 400); !strings.Contains(a.raw, `validation is \"cue://schemas/forms/examples/employee.cue\": register its source`) {
		t.Fatalf("contract left out: %s", a.raw)
	}
	noContract := strings.Replace(def, `validation = "cue://schemas/forms/examples/employee.cue"`, "", 1)
	if a := expect(t, h, "admin", "POST", "/forms", upload(noContract, "name: string"), 400); !strings.Contains(a.raw, "the form names none") {
		t.Fatalf("unnamed contract: %s", a.raw)
	}
	if a := expect(t, h, "admin", "POST", "/forms", upload(def, "name: string\nemail: string &\n"), 400); !strings.Contains(a.raw, `"code":"bad_definition"`) ||
		!strings.Contains(a.raw, "schemas/forms/examples/employee.cue:2:17") {
		t.Fatalf("broken contract: %s", a.raw)
	}
	nickel := strings.Replace(def, `"cue://schemas/forms/examples/employee.cue"`, `"nickel://employee.ncl"`, 1)
	if a := expect(t, h, "admin", "POST", "/forms", upload(nickel, "x"), 400); !strings.Contains(a.raw, "CUE contracts only") {
		t.Fatalf("nickel contract: %s", a.raw)
	}
	expect(t, h, "bob", "GET", "/forms/example_form", "", 404) // nothing was registered

	reg := expect(t, h, "admin", "POST", "/forms", upload(def, exampleFile(t, "employee.cue")), 201)
	if reg.body["contract"] != "cue://schemas/forms/examples/employee.cue" {
		t.Fatalf("registered %v", reg.body)
	}
	// A tab passes the form's \s but not the contract's space, and an
	// engineer must name a team size (a conditional constraint the form
	// cannot say): both named, nothing stored, the session still open.
	answers := `{"answers":{"name":"Ada\tLovelace","email":"ada@example.org","department":"engineering","projects":[{"project_name":"engine"}]}}`
	sid := expect(t, h, "ann", "POST", "/forms/example_form/sessions", answers, 201).body["id"].(string)
	a := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 400)
	e, _ := a.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if e["code"] != "contract_violation" || !strings.HasPrefix(msg, "contract schemas/forms/examples/employee.cue: ") ||
		!strings.Contains(msg, `name: invalid value "Ada\tLovelace" (out of bound =~"^[a-zA-Z ]+$")`) || !strings.Contains(msg, "team_size: ") {
		t.Fatalf("violations: %s", a.raw)
	}
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"name":"Ada Lovelace","team_size":"small"}}`, 200) // still open
	sub := expect(t, h, "ann", "POST", "/sessions/"+sid+"/submit", "", 200)
	if !strings.Contains(sub.body["output"].(string), `"team_size": "small"`) {
		t.Fatalf("submission %v", sub.body)
	}
}
