// Package remote is how typedialog-forms reaches the two functions that link
// what its own Lambda cannot: typedialog-render renders a form's output
// template with pongo2 (which looks methods up by name, keeping every method
// in a binary) and typedialog-contract checks answers against the form's CUE
// contract (CUE links every builtin: it ships as a container image). It holds
// their request and result types and a client over the Lambda Invoke API,
// and links neither pongo2 nor CUE.
package remote

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// RenderFunction is typedialog-render's catalog name.
const RenderFunction = "typedialog-render"

// Operations of both functions: compile checks a template or contract alone
// (at form registration), run renders or checks it with the answers.
const (
	OpCompile = "compile"
	OpRun     = "run"
)

// Request is what both functions take: a template or contract (its name as
// the form names it, and its source) and, for OpRun, the validated answers.
type Request struct {
	Op     string         `json:"op"`
	Name   string         `json:"name"`
	Source string         `json:"source"`
	Values map[string]any `json:"values,omitempty"`
}

// RenderResult is typedialog-render's answer: the rendered text, or the
// template's failure with its line (and then no output at all).
type RenderResult struct {
	Output  string           `json:"output"`
	Failure *TemplateFailure `json:"failure,omitempty"`
}

// TemplateFailure names where a template failed.
type TemplateFailure struct {
	Template string `json:"template"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
}

func (e *TemplateFailure) Error() string {
	return fmt.Sprintf("template %s:%d:%d: %s", e.Template, e.Line, e.Column, e.Message)
}

// Client calls both functions through an Invoker.
type Client struct{ Invoker invoke.Invoker }

// Render renders a template with values (OpRun) or parses it alone
// (OpCompile). A template that fails is a *TemplateFailure; any other
// error is a failure to reach the function.
func (c *Client) Render(ctx context.Context, op, name, src string, values map[string]any) (string, error) {
	payload, err := json.Marshal(Request{Op: op, Name: name, Source: src, Values: values})
	if err != nil {
		return "", fmt.Errorf("encode %s request: %w", RenderFunction, err)
	}
	out, err := c.Invoker.Invoke(ctx, RenderFunction, payload)
	if err != nil {
		return "", fmt.Errorf("invoke %s: %w", RenderFunction, err)
	}
	var res RenderResult
	if err := json.Unmarshal(out, &res); err != nil {
		return "", fmt.Errorf("%s answered %.200q: %w", RenderFunction, out, err)
	}
	if res.Failure != nil {
		return "", res.Failure
	}
	return res.Output, nil
}

// Decode reads a request, checking its op and that it names its template
// or contract.
func Decode(payload []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(payload, &req); err != nil {
		return Request{}, fmt.Errorf("malformed request: %w", err)
	}
	if req.Op != OpCompile && req.Op != OpRun {
		return Request{}, fmt.Errorf("request op %q: want %q or %q", req.Op, OpCompile, OpRun)
	}
	if req.Name == "" {
		return Request{}, fmt.Errorf("request without a template or contract name")
	}
	return req, nil
}
