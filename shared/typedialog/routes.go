// Package typedialog is TypeDialog's web and API back-end (typedialog-forms):
// forms registered from their TOML, answer sessions kept in SurrealDB,
// submissions that validate with the one form engine (shared/typedialog/form)
// and write a config snapshot, and the server-rendered form page.
package typedialog

import (
	"net/http"
	"time"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

// Spec is typedialog-forms' HTTP surface; it also serves TypeDialog's OpenAPI document.
var Spec = httpapi.Spec[*API]{Auth: func(a *API) func(http.Handler) http.Handler { return a.auth.Middleware },
	Ops: []httpapi.Op[*API]{
		httpapi.DocumentOp[*API](schemas.OpenAPIDocument("typedialog")),
		{Method: "POST", Path: "/forms", Summary: "Register a form version: its TOML definition as the body, or JSON with its translations",
			In: FormUpload{}, Out: FormDoc{}, Status: http.StatusCreated, Handle: (*API).registerForm},
		{Method: "GET", Path: "/forms", Summary: "List the forms, newest version of each", Out: FormList{},
			Query: []httpapi.Param{{Name: "limit", Type: "integer", Description: "1–500 (default 100)"}}, Handle: (*API).listForms},
		{Method: "GET", Path: "/forms/{id}", Summary: "Read a form (its newest version unless ?version=)", Out: FormDoc{},
			Query: []httpapi.Param{{Name: "version"}}, Handle: (*API).getForm},
		{Method: "GET", Path: "/forms/{id}/page", Summary: "The form as an HTML page (conditions and repeatable groups live), in the Accept-Language or ?lang= language",
			Query: []httpapi.Param{{Name: "version"}, {Name: "lang", Description: "language (es, en …); default Accept-Language, then the form's, then en"}}, Handle: (*API).page},
		{Method: "POST", Path: "/forms/{id}/sessions", Summary: "Start answering a form", In: SessionInput{}, Out: Session{},
			Status: http.StatusCreated, Handle: (*API).startSession},
		{Method: "PATCH", Path: "/sessions/{id}", Summary: "Save partial answers; returns the visible and the failing fields",
			In: AnswersPatch{}, Out: Session{}, Handle: (*API).patchSession},
		{Method: "POST", Path: "/sessions/{id}/submit", Summary: "Validate every answer and return the output in the form's format",
			Out: Submission{}, Handle: (*API).submit},
	}}

type (
	// FormUpload registers a form with its translations (Content-Type:
	// application/json); a text body is the TOML definition alone.
	FormUpload struct {
		Definition string            `json:"definition"`
		Locales    map[string]string `json:"locales,omitempty"` // language → Fluent (.ftl) source
		// Template is the source of the output template the definition names
		// in [output] template (required then, refused otherwise): the server
		// never reads a form's files from its own disk.
		Template string `json:"template,omitempty"`
		// Contract is the source of the CUE contract the definition names in
		// [output] validation = "cue://…" (required then, refused otherwise);
		// typedialog-contract checks each submission against it.
		Contract string `json:"contract,omitempty"`
	}
	// FormDoc is a registered form version.
	FormDoc struct {
		ID          string         `json:"id"`
		Version     string         `json:"version"`
		Title       string         `json:"title"`
		Description string         `json:"description,omitempty"`
		Format      string         `json:"format"`
		Template    string         `json:"template,omitempty"` // the output template's name, registered with the form
		Contract    string         `json:"contract,omitempty"` // the contract's reference ([output] validation), registered with the form
		Languages   []string       `json:"languages"`          // the translations registered with it
		CreatedAt   time.Time      `json:"created_at"`
		Sections    []form.Section `json:"sections"`
	}
	// FormSummary is one entry of GET /forms.
	FormSummary struct {
		ID        string    `json:"id"`
		Version   string    `json:"version"`
		Title     string    `json:"title"`
		CreatedAt time.Time `json:"created_at"`
	}
	// FormList is GET /forms.
	FormList struct {
		Forms []FormSummary `json:"forms"`
	}
	// SessionInput starts a session: a version (default the newest) and first answers.
	SessionInput struct {
		Version string         `json:"version,omitempty"`
		Answers map[string]any `json:"answers,omitempty"`
	}
	// AnswersPatch sets answers of a session; null clears one.
	AnswersPatch struct {
		Answers map[string]any `json:"answers"`
	}
	// Session is a session's answers and where they stand: the fields shown,
	// the answers that fail (each with its rule) and the required fields not
	// answered yet.
	Session struct {
		ID        string            `json:"id"`
		FormID    string            `json:"form_id"`
		Version   string            `json:"version"`
		Status    string            `json:"status"`
		Answers   map[string]any    `json:"answers"`
		Visible   []string          `json:"visible"`
		Errors    []form.FieldError `json:"errors"`
		Missing   []string          `json:"missing"`
		CreatedAt time.Time         `json:"created_at"`
		UpdatedAt time.Time         `json:"updated_at"`
	}
	// Submission is a submitted session's output and its config snapshot.
	Submission struct {
		SessionID string `json:"session_id"`
		FormID    string `json:"form_id"`
		Version   string `json:"version"`
		Format    string `json:"format"`
		Output    string `json:"output"`
		// Template names the form's output template and Templated is what it
		// rendered with the values (both absent when the form has none).
		Template   string         `json:"template,omitempty"`
		Templated  string         `json:"templated,omitempty"`
		Values     map[string]any `json:"values"`
		ConfigHash string         `json:"config_hash"`
		SnapshotID string         `json:"snapshot_id"`
	}
)
