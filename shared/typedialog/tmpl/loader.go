package tmpl

import (
	"errors"
	"io"
)

// noLoader refuses include/extends/import: a form's template renders alone
// and never reads files the form did not name.
type noLoader struct{}

func (noLoader) Abs(base, name string) string { return name }

func (noLoader) Get(path string) (io.Reader, error) {
	return nil, errors.New("templates cannot include other files: " + path)
}
