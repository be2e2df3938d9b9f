// Package tmpl renders a form's output template (Jinja/Tera-like, pongo2).
// It is apart from the form engine because pongo2 looks methods up by name,
// which keeps every method in a binary: the HTTP Lambda does not link it.
package tmpl

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// TemplateError names the template and the line where rendering failed.
type TemplateError struct {
	Template string
	Line     int
	Column   int
	Message  string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("template %s:%d:%d: %s", e.Template, e.Line, e.Column, e.Message)
}

// Template is a parsed template, rendered many times (concurrently too).
type Template struct {
	name string
	tpl  *pongo2.Template
}

// Parse parses a Jinja/Tera-like template (pongo2); a syntax error is a
// *TemplateError with its line.
func Parse(name string, src []byte) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, &TemplateError{Template: name, Line: 1, Column: 1, Message: fmt.Sprint(r)}
		}
	}()
	set := pongo2.NewSet("typedialog", noLoader{})
	// ssi reads a file from the server's disk itself, past the loader.
	if err := set.BanTag("ssi"); err != nil {
		return nil, &TemplateError{Template: name, Line: 1, Column: 1, Message: err.Error()}
	}
	tpl, err := set.FromBytes(escaping(name, src))
	if err != nil {
		return nil, templateError(name, err)
	}
	return &Template{name: name, tpl: tpl}, nil
}

// Render renders the template with the values. On any failure it renders
// nothing and returns a *TemplateError.
func (t *Template) Render(values map[string]any) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &TemplateError{Template: t.name, Line: 1, Column: 1, Message: fmt.Sprint(r)}
		}
	}()
	w := &cappedBuffer{max: MaxOutput}
	err = t.tpl.ExecuteWriterUnbuffered(pongo2.Context(wholeNumbers(values).(map[string]any)), w)
	if w.over { // pongo2 does not always stop at the refused write
		return nil, &TemplateError{Template: t.name, Line: 1, Column: 1, Message: fmt.Sprintf("output over %d bytes", MaxOutput)}
	}
	if err != nil {
		return nil, templateError(t.name, err)
	}
	return w.buf.Bytes(), nil
}

// MaxOutput bounds what one rendering may write: a loop that would write
// more (a config template is kilobytes) is an error, not a function that
// runs out of memory.
const MaxOutput = 4 << 20

var errTooLarge = errors.New("template output too large")

// cappedBuffer keeps what is written up to max bytes and fails past it.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		c.over = true
		return 0, errTooLarge
	}
	return c.buf.Write(p)
}

// RenderTemplate renders a Jinja/Tera-like template (pongo2) with the values.
// On any failure it renders nothing and returns a *TemplateError.
func RenderTemplate(name string, src []byte, values map[string]any) ([]byte, error) {
	t, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	return t.Render(values)
}

// As Tera, values are escaped only in HTML and XML templates (a YAML or
// TOML config must keep its & and <): pongo2 escapes nothing by default here
// (this package is its only user in a binary), and a markup template is
// wrapped in autoescapeOn, on its first line so that line numbers hold.
func init() { pongo2.SetAutoescape(false) }

const autoescapeOn = "{% autoescape on %}"

// escaping is src as rendered.
func escaping(name string, src []byte) []byte {
	if !markup(name) {
		return src
	}
	return slices.Concat([]byte(autoescapeOn), src, []byte("{% endautoescape %}"))
}

// markup reports an HTML or XML template, whose values are escaped.
func markup(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm", ".xml":
		return true
	}
	return false
}

// wholeNumbers turns every whole float64 in v (answers decoded from JSON)
// into an int64, so that 5432 renders as 5432, as the CLI renders it, not
// as pongo2's 5432.000000.
func wholeNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = wholeNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wholeNumbers(e)
		}
		return out
	}
	return v
}

func templateError(name string, err error) error {
	var pe *pongo2.Error
	if errors.As(err, &pe) {
		msg := pe.Sender
		if pe.OrigError != nil {
			msg += ": " + pe.OrigError.Error()
		}
		line, col := max(pe.Line, 1), max(pe.Column, 1)
		if line == 1 && col > len(autoescapeOn) && markup(name) {
			col -= len(autoescapeOn) // the wrapper's columns are not the author's
		}
		return &TemplateError{Template: name, Line: line, Column: col, Message: msg}
	}
	return &TemplateError{Template: name, Line: 1, Column: 1, Message: err.Error()}
}
