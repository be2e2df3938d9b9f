// Package renderfn is typedialog-render: it renders a form's output template
// (pongo2) with the answers; a template that fails renders nothing and names
// its line. It is a function of its own so that only it links pongo2 (see
// shared/typedialog/remote).
package renderfn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
	"github.com/stratumiops/stratumiops/shared/typedialog/tmpl"
)

// Functions holds typedialog-render, by catalog name.
func Functions() function.Set {
	return function.Set{remote.RenderFunction: Function}
}

// Function is typedialog-render.
func Function() function.Builder {
	return function.Invoke(func(context.Context, *function.Deps) (invoke.Handler, error) {
		return NewRenderer().Handle, nil
	})
}

// maxCached bounds the parsed templates an instance keeps.
const maxCached = 256

// Renderer parses each template once per instance (by its name and source).
type Renderer struct {
	mu     sync.Mutex
	parsed map[[32]byte]*tmpl.Template
}

// NewRenderer returns a Renderer with an empty cache.
func NewRenderer() *Renderer { return &Renderer{parsed: map[[32]byte]*tmpl.Template{}} }

// Handle answers a remote.Request with a remote.RenderResult. A failing
// template is a result naming its line; only a malformed request is an error.
func (r *Renderer) Handle(_ context.Context, payload []byte) ([]byte, error) {
	req, err := remote.Decode(payload)
	if err != nil {
		return nil, err
	}
	t, err := r.template(req.Name, req.Source)
	if err == nil && req.Op == remote.OpRun {
		var out []byte
		if out, err = t.Render(req.Values); err == nil {
			return json.Marshal(remote.RenderResult{Output: string(out)})
		}
	}
	var te *tmpl.TemplateError
	switch {
	case errors.As(err, &te):
		return json.Marshal(remote.RenderResult{Failure: &remote.TemplateFailure{
			Template: te.Template, Line: te.Line, Column: te.Column, Message: te.Message}})
	case err != nil:
		return nil, fmt.Errorf("render %s: %w", req.Name, err)
	}
	return json.Marshal(remote.RenderResult{})
}

func (r *Renderer) template(name, src string) (*tmpl.Template, error) {
	key := sha256.Sum256([]byte(name + "\x00" + src))
	r.mu.Lock()
	t, ok := r.parsed[key]
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := tmpl.Parse(name, []byte(src))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.parsed) >= maxCached {
		clear(r.parsed)
	}
	r.parsed[key] = t
	r.mu.Unlock()
	return t, nil
}
