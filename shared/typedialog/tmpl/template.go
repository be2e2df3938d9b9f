// Package tmpl renders a form's output template (Jinja/Tera-like, pongo2).
// It is apart from the form engine because pongo2 looks methods up by name,
// which keeps every method in a binary: the HTTP Lambda does not link it.
package tmpl

import (
	"errors"
	"fmt"

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
	tpl, err := set.FromBytes(src)
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
	b, err := t.tpl.ExecuteBytes(pongo2.Context(values))
	if err != nil {
		return nil, templateError(t.name, err)
	}
	return b, nil
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

func templateError(name string, err error) error {
	var pe *pongo2.Error
	if errors.As(err, &pe) {
		msg := pe.Sender
		if pe.OrigError != nil {
			msg += ": " + pe.OrigError.Error()
		}
		line := max(pe.Line, 1)
		return &TemplateError{Template: name, Line: line, Column: max(pe.Column, 1), Message: msg}
	}
	return &TemplateError{Template: name, Line: 1, Column: 1, Message: err.Error()}
}
