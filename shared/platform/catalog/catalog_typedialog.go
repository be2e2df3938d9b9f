package catalog

import "time"

// TypeDialog's system and functions, kept in their own file: forms in TOML
// answered through the API and the web page (the CLI and TUI run locally).
func init() {
	Systems = append(Systems, System{Name: "typedialog", DevPort: 8403})
	Functions = append(Functions, Function{
		Name:        "typedialog-forms",
		System:      "typedialog",
		Kind:        HTTP,
		Description: "TypeDialog forms: register TOML definitions, answer them in sessions, submit into config snapshots, the HTML page.",
		Routes: []Route{
			{"GET", "/openapi.json"},
			{"POST", "/forms"}, {"GET", "/forms"}, {"GET", "/forms/{id}"}, {"GET", "/forms/{id}/page"},
			{"POST", "/forms/{id}/sessions"}, {"PATCH", "/sessions/{id}"}, {"POST", "/sessions/{id}/submit"},
		},
		Database: "typedialog",
		Auth:     true,
		// The form's output template renders in a function of its own,
		// the only one that links pongo2, and its contract is checked in
		// another, the only one that links CUE (Lambda size).
		Invokes:  []string{"typedialog-render", "typedialog-contract"},
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	}, Function{
		Name:        "typedialog-render",
		System:      "typedialog",
		Kind:        Invoke,
		Description: "Renders a form's output template (Jinja-like, pongo2) with a submission's answers; a failing template names its line.",
		MemoryMB:    256,
		Timeout:     5 * time.Second,
	}, Function{
		Name:        "typedialog-contract",
		System:      "typedialog",
		Kind:        Invoke,
		Description: "Checks a submission's answers against the form's CUE contract and names each violated constraint by field.",
		// CUE links every builtin (cuecontext imports cuelang.org/go/pkg):
		// with the Lambda runtime alone it is 15.00 MiB, over a zip's
		// limit, so it ships as a container image.
		Image:    true,
		MemoryMB: 512,
		Timeout:  5 * time.Second,
	})
}
